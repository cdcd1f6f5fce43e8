"""stella's released Keras 2 models in Keras 3 reproduce stella's released predictions."""

import numpy as np
import pandas as pd
import pytest

from flare_transformer import stella
from tf_util import errors


@pytest.fixture(scope="module")
def ensemble(shared_fixtures):
  return stella.load_stella_ensemble(str(shared_fixtures / "flares" / "stella" / "final_models.zip"))


def test_released_predictions_are_reproduced(shared_fixtures, ensemble):
  tess = shared_fixtures / "flares" / "tess"
  released = pd.read_csv(tess / "catalog" / "stella_release_preds_fixture_tics.csv")
  assert sorted(ensemble) == list(stella.PAPER_SEEDS)
  assert ensemble[4].count_params() == 105_729
  worst = 0.0
  for tic, rows in released.groupby("tic"):
    path = next(tess.glob("*{:016d}*_lc.fits".format(tic)))
    time, flux = stella.stella_light_curve(str(path))
    centres = [int(np.argmin(np.abs(time - t))) for t in rows["tpeak"]]
    np.testing.assert_allclose(time[centres], rows["tpeak"], atol=1e-6)  # peaks are cadences
    windows = stella.windows_at(flux, centres)
    for seed, model in ensemble.items():
      predicted = model.predict(windows, verbose=0)[:, 0]
      expected = rows["pred_s{:04d}".format(seed)].to_numpy()
      worst = max(worst, float(np.max(np.abs(predicted - expected))))
  print("stella max |dp|", worst)
  assert worst <= 1e-4, worst
  # The whole-light-curve path gives the same value at those cadences.
  path = next(tess.glob("*{:016d}*_lc.fits".format(29779873)))
  time, flux = stella.stella_light_curve(str(path))
  probability = stella.predict_light_curve(ensemble, time, flux)
  rows = released[released.tic == 29779873]
  centres = [int(np.argmin(np.abs(time - t))) for t in rows["tpeak"]]
  np.testing.assert_allclose(probability[centres], rows["pred_mean10"], atol=1e-4)
  assert np.isnan(probability[:100]).all() and np.isnan(probability[-99:]).all()


def test_bad_model_files(tmp_path, shared_fixtures):
  (tmp_path / "junk.h5").write_bytes(b"not hdf5")
  with pytest.raises(errors.CheckpointError, match="Cannot read HDF5 model"):
    stella.load_stella_h5(str(tmp_path / "junk.h5"))
  with pytest.raises(errors.CheckpointError, match="No model of seed 99"):
    stella.load_stella_ensemble(str(shared_fixtures / "flares" / "stella" / "final_models.zip"),
                                seeds=[99])
  with pytest.raises(ValueError, match="do not fit a light curve"):
    stella.windows_at(np.zeros(150), [100])
