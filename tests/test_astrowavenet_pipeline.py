"""AstroWaveNet on a real light curve: records, training (loss falls, resume), prediction, generation."""

import numpy as np
import pytest
import tensorflow as tf

from astronet.util import config_util
from astrowavenet import astrowavenet_model as awn
from astrowavenet import configurations
from astrowavenet import prediction
from astrowavenet import wavenet_training as trainer_lib
from astrowavenet.data import kepler_light_curves
from astrowavenet.data import prepare_inputs
from tests.conftest import KEPLER90_ID
from tests.conftest import KEPLER_FITS_DIR
from tf_util import errors

SMALL = {"hparams": {"batch_size": 2, "learning_rate": 1e-3, "num_residual_blocks": 2,
                     "dilation_rates": [1, 2, 4], "skip_output_dim": 4}}


@pytest.fixture(scope="module")
def records(tmp_path_factory):
  """Kepler-90's real Q3-Q5 light curve (normalised by its MAD) as an AstroWaveNet record."""
  path = str(tmp_path_factory.mktemp("awn") / "kepler90.tfrecord")
  result = prepare_inputs.prepare([KEPLER90_ID, 1234567], str(KEPLER_FITS_DIR), path,
                                  normalize_stddev=True, upward_outlier_clipping=5)
  assert result["written"] == 1 and list(result["failed"]) == [1234567]
  return path


def test_record_contents(records):
  cadence_no, time, flux, mask = kepler_light_curves.process_light_curve(
      sorted(str(p) for p in KEPLER_FITS_DIR.rglob("*.fits")), normalize_stddev=True,
      upward_outlier_clipping=5)
  assert np.all(np.diff(cadence_no) == 1)  # uniform cadence grid
  assert mask.sum() == 4134 + 1008 + 4486  # every finite point kept
  assert np.median(np.abs(flux[mask])) == pytest.approx(1 / 1.4826, rel=0.05)
  assert flux[mask].max() <= 5 + 1e-9  # upward clipping at 5 sigma
  batch = next(iter(kepler_light_curves.build_dataset(records, 1, False, max_length=300)))
  assert batch["autoregressive_input"].shape == (1, 300, 1)
  np.testing.assert_allclose(batch["autoregressive_input"][0, :, 0], flux[:300], atol=1e-6)
  np.testing.assert_array_equal(batch["weights"][0, :, 0], mask[:300])


def test_training_lowers_the_loss_and_resumes(records, tmp_path):
  import keras
  keras.utils.set_random_seed(0)
  config = config_util.apply_overrides(configurations.base(), SMALL)
  trainer = trainer_lib.WaveNetTrainer(config, str(tmp_path), max_length=512)
  before = trainer_lib.evaluate(trainer.model, trainer.config, records, 512)
  trainer.train(records, 40, save_every_steps=20, seed=1, verbose=False)
  after = trainer_lib.evaluate(trainer.model, trainer.config, records, 512)
  assert after["loss"] < before["loss"] - 0.1
  resumed = trainer_lib.WaveNetTrainer(config, str(tmp_path), max_length=512)
  assert int(resumed.step.numpy()) == 40
  model, saved = trainer_lib.load_model(str(tmp_path))
  assert saved["dims"] == [1, 1]
  assert trainer_lib.evaluate(model, saved, records, 512) == after
  # One-step-ahead predictions and the denoised (mean) curve.
  batch = next(iter(kepler_light_curves.build_dataset(records, 1, False, max_length=512)))
  params = prediction.predict_next(model, saved["hparams"], batch["autoregressive_input"],
                                   batch["conditioning_stack"])
  mean = prediction.predicted_mean(params, saved["hparams"])
  assert mean.shape == (1, 512, 1) and np.all(params["scale"].numpy() > 0)


def test_generation_samples_the_one_step_distributions():
  tf.random.set_seed(0)
  hparams = config_util.apply_overrides(configurations.base(), SMALL)["hparams"]
  model = awn.build_model(hparams, 1, 1)
  conditioning = np.ones((2, 60, 1), np.float32)
  prime = np.full((2, 5, 1), 0.5, np.float32)
  series = prediction.generate(model, hparams, conditioning, prime=prime, seed=3)
  np.testing.assert_array_equal(series[:, :5], prime)
  # Each sampled step = loc + scale * z of the full-sequence one-step prediction,
  # with z the seeded normal draws: windowed generation is exact.
  params = prediction.predict_next(model, hparams, series, conditioning)
  rng = np.random.default_rng(3)
  draws = np.concatenate([rng.standard_normal((2, 1, 1)) for _ in range(5, 60)], axis=1)
  z = (series[:, 5:] - params["loc"].numpy()[:, 5:]) / params["scale"].numpy()[:, 5:]
  np.testing.assert_allclose(z, draws, atol=1e-4)
  np.testing.assert_array_equal(
      prediction.generate(model, hparams, conditioning, prime=prime, seed=3), series)
  categorical = config_util.apply_overrides(configurations.categorical(), SMALL)["hparams"]
  categorical["output_distribution"]["num_classes"] = 8
  values = prediction.generate(awn.build_model(categorical, 1, 1), categorical, conditioning,
                               seed=1)
  assert set(np.round(values.ravel(), 4)) <= set(np.round(prediction.bin_centres(
      categorical["output_distribution"]), 4))


def test_bad_pipeline_inputs(tmp_path):
  with pytest.raises(errors.EmptyLightCurveError, match="No light curve could be read"):
    prepare_inputs.prepare([1234567], str(KEPLER_FITS_DIR), str(tmp_path / "x.tfrecord"))
  with pytest.raises(errors.LightCurveFileError, match="Found no input files"):
    kepler_light_curves.build_dataset(str(tmp_path / "none*"), 2, True)
  hparams = configurations.base()["hparams"]
  model = awn.build_model(hparams, 1, 1)
  with pytest.raises(ValueError, match="shorter than the receptive field"):
    prediction.predict_next(model, hparams, np.zeros((1, 50, 1)), np.zeros((1, 50, 1)))


def test_tess_light_curves(test_data, tmp_path):
  path = str(tmp_path / "tess.tfrecord")
  result = prepare_inputs.prepare([100000001], None, path,
                                  tess_data_dir=str(test_data / "triage" / "lightcurves"),
                                  sector=2)
  assert result["written"] == 1
  batch = next(iter(kepler_light_curves.build_dataset(path, 1, False, max_length=2000)))
  assert int(batch["example_id"][0]) == 100000001
  weights = batch["weights"].numpy()[0, :, 0]
  # 1246 points after the Triage processing, on a 30-min grid with the mid-sector gap masked.
  assert weights.sum() == 1246 and weights.size > 1246
  flux = batch["autoregressive_input"].numpy()[0, :, 0][weights > 0]
  assert abs(np.median(flux)) < 1e-3 and flux.min() < -4e-3  # median 0, transits below


def test_predict_cli_matches_the_model(records, test_data, tmp_path):
  import os
  import subprocess
  import sys

  import keras

  from tests.conftest import ROOT
  keras.utils.set_random_seed(0)
  config = config_util.apply_overrides(configurations.base(), SMALL)
  trainer = trainer_lib.WaveNetTrainer(config, str(tmp_path / "model"), max_length=256)
  trainer.train(records, 2, verbose=False)
  env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
  proc = subprocess.run(
      [sys.executable, str(ROOT / "astrowavenet" / "predict.py"), "--model_dir=model",
       "--tfrecord_files=" + records, "--output_dir=out", "--max_length=300"],
      env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr[-2000:]
  lines = (tmp_path / "out" / "losses.csv").read_text().splitlines()
  assert lines[0] == "example_id,mean_loss" and lines[1].startswith("11442793,")
  saved = np.load(tmp_path / "out" / "predictions.npz")
  batch = next(iter(kepler_light_curves.build_dataset(records, 1, False, max_length=300)))
  features = {k: batch[k] for k in ("autoregressive_input", "conditioning_stack")}
  params = awn.distribution_params(trainer.model(features)["dist_params"], config["hparams"])
  np.testing.assert_allclose(saved["11442793/loc"], params["loc"].numpy()[0], atol=1e-5)
  assert float(lines[1].split(",")[1]) == pytest.approx(float(awn.losses(
      params, batch["autoregressive_input"], config["hparams"],
      batch["weights"])["per_example_loss"][0]), rel=1e-5)
