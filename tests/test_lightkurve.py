"""lightkurve objects in: the same views as reading the same FITS from disk."""

import pathlib

import numpy as np
import pytest

import astronet
from astronet.data import preprocess
from astronet.data import tce_views
from tests.conftest import KEPLER_FITS_DIR
from tf_util import errors

lk = pytest.importorskip("lightkurve")  # the `lightkurve` extra; `make test` installs it

ROOT = pathlib.Path(__file__).resolve().parent.parent
TESS_FITS = ROOT / "tests" / "data" / "tess" / "tess2018349182459-s0006-0000000219423316-0126-s_lc.fits"
KEPLER90_I = (11442793, 14.44912, 2.2, 0.11267)  # KIC, period, t0 (BKJD), duration (days)


def test_kepler_lightcurve_collection_gives_the_disk_views(kepler90_files):
  # The Kepler pipeline, as the original, does not mask QUALITY: read it all.
  collection = lk.LightCurveCollection([lk.read(f, quality_bitmask="none")
                                        for f in kepler90_files])
  kic, period, t0, duration = KEPLER90_I
  from_lk = preprocess.views_from_lightcurve(collection, period, t0, duration, "kepler")
  from_disk = tce_views.process_tce(kic, period, t0, duration, "kepler", str(KEPLER_FITS_DIR))
  for name in ("global_view", "local_view"):
    assert from_lk[name].shape == from_disk[name].shape
    assert np.max(np.abs(from_lk[name] - from_disk[name])) <= 1e-5, name


def test_tess_spoc_lightcurve_gives_the_disk_views_and_a_prediction(tmp_path):
  lc = lk.read(str(TESS_FITS))  # lightkurve's default bitmask = the SPOC reader's
  start = float(np.nanmin(lc.time.value))
  period, t0, duration = 1.7, start + 0.6, 0.08
  from_lk = preprocess.views_from_lightcurve(lc, period, t0, duration, "tess")
  from_disk = tce_views.process_tce(219423316, period, t0, duration, "tess",
                                    str(TESS_FITS.parent), 6, tess_format="spoc")
  for name in ("global_view", "local_view"):
    assert np.max(np.abs(from_lk[name] - from_disk[name])) <= 1e-5, name
  # The same through the one-call API, with a shipped model; arrays work too.
  p = astronet.predict_lightcurve("triage", lc, period, t0, duration)
  assert 0.0 <= p <= 1.0
  class Arrays:  # anything with .time and .flux
    time, flux = lc.time.value, lc.flux.value
  assert astronet.predict_lightcurve("triage", Arrays(), period, t0, duration) == \
      pytest.approx(p, abs=1e-6)
  with pytest.raises(errors.CheckpointError, match="takes tess views, not kepler"):
    astronet.predict_lightcurve("triage", lc, period, t0, duration, mission="kepler")
  with pytest.raises(errors.InvalidTCEError, match="Not a light curve"):
    preprocess.views_from_lightcurve(42, period, t0, duration)


def test_flare_detection_and_astromer_encode_take_lightkurve_objects():
  from astromer.models import SingleBandEncoder
  from flare_transformer import data
  from flare_transformer import detection
  from flare_transformer import model as flare_model
  lc = lk.read(str(TESS_FITS), quality_bitmask="none")  # flagged cadences kept, as on disk
  from_lk = data.light_curve_from_lightkurve(lc)
  from_disk = data.read_light_curve(str(TESS_FITS))
  assert from_lk.tic == from_disk.tic == 219423316
  np.testing.assert_array_equal(from_lk.time, from_disk.time)
  np.testing.assert_allclose(from_lk.flux, from_disk.flux, rtol=0, atol=1e-9)
  np.testing.assert_array_equal(from_lk.quality, from_disk.quality)
  config = {"architecture": "cnn", "max_seq_len": 100, "num_features": 3, "dropout": 0.0}
  model = flare_model.build_model(dict(flare_model_config(), **config))
  p_lk, _ = detection.detect(model, lc, stride=50)
  p_disk, _ = detection.detect(model, from_disk, stride=50)
  np.testing.assert_allclose(p_lk, p_disk, atol=1e-6)
  with pytest.raises(errors.InvalidTCEError, match="Not a light curve"):
    detection.detect(model, object())
  # ASTROMER: a light curve in flux becomes (MJD, magnitude, error) rows.
  encoder = SingleBandEncoder.from_pretraining("macho")
  short = lc[:300]
  from astromer import preprocessing
  rows = preprocessing.from_lightkurve(short)
  assert rows.shape[1] == 3 and 250 < len(rows) <= 300
  assert np.all(np.diff(rows[:, 0]) > 0) and np.all(rows[:, 2] > 0)
  embedded = encoder.encode([short], oids_list=["tic"])
  np.testing.assert_array_equal(embedded[0], encoder.encode([rows], oids_list=["tic"])[0])
  assert embedded[0].shape[1] == 256


def flare_model_config():
  from flare_transformer import config as config_lib
  return config_lib.load_config()["model"]
