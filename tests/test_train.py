"""train / evaluate on a slice of the real Triage records: loss falls, resume, errors."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from astronet import models
from astronet.ops import evaluation
from astronet.ops import metrics
from astronet.ops import model_loading
from astronet.ops import training
from astronet.util import config_util
from tests.conftest import ROOT
from tests.conftest import run_local_workers
from tf_util import errors
from tf_util import model_dir as model_dir_lib

FAST = {"hparams": {"batch_size": 32, "learning_rate": 1e-4}}


@pytest.fixture(scope="module")
def records(test_data):
  base = test_data / "triage" / "records"
  return str(base / "train-slice-00000-of-00001"), str(base / "val-slice-00000-of-00001")


def tess_config():
  return config_util.apply_overrides(
      models.get_model_config("AstroCNNModel", "local_global", "tess"), FAST)


def test_training_lowers_the_loss_and_resumes(records, tmp_path):
  import keras
  keras.utils.set_random_seed(0)
  train_files, _ = records
  assert training.infer_mission(train_files) == "tess"
  trainer = training.Trainer("AstroCNNModel", tess_config(), str(tmp_path))
  before = evaluation.evaluate(trainer.model, trainer.config, train_files)
  trainer.train(train_files, 25, save_every_steps=10, seed=1, verbose=False)
  after = evaluation.evaluate(trainer.model, trainer.config, train_files)
  assert after["loss"] < before["loss"] - 0.05
  assert sorted(f for f in os.listdir(tmp_path) if f.endswith(".index")) == [
      "ckpt-10.index", "ckpt-20.index", "ckpt-25.index"]
  assert os.path.exists(tmp_path / "model.keras")
  # A new trainer on the same model_dir resumes at step 25 and continues.
  resumed = training.Trainer("AstroCNNModel", tess_config(), str(tmp_path))
  assert int(resumed.step.numpy()) == 25
  np.testing.assert_array_equal(resumed.model.get_layer("logits").get_weights()[0],
                                trainer.model.get_layer("logits").get_weights()[0])
  resumed.train(train_files, 30, save_every_steps=10, verbose=False)
  assert os.path.exists(tmp_path / "ckpt-30.index")
  # load_model gives the same predictions as the trained model.
  model, name, config = model_loading.load_model(str(tmp_path))
  assert name == "AstroCNNModel"
  a = evaluation.evaluate(model, config, train_files)
  b = evaluation.evaluate(resumed.model, config, train_files)
  assert a == b


def test_incompatible_model_dir_and_bad_records(records, tmp_path):
  train_files, _ = records
  training.Trainer("AstroCNNModel", tess_config(), str(tmp_path)).manager.save()
  kepler = models.get_model_config("AstroCNNModel", "local_global", "kepler")
  with pytest.raises(errors.CheckpointError, match="already holds a different model"):
    training.Trainer("AstroCNNModel", kepler, str(tmp_path))
  # Kepler-sized views on TESS records: the reader names file, feature, lengths.
  with pytest.raises(errors.RecordFormatError, match="feature 'local_view' has length 61, the config expects 201"):
    training.Trainer("AstroCNNModel", kepler, str(tmp_path / "k")).train(
        train_files, 1, verbose=False)
  with pytest.raises(errors.LightCurveFileError, match="Found no input files"):
    training.infer_mission(str(tmp_path / "nothing*"))
  with pytest.raises(errors.CheckpointError, match="not a model directory"):
    model_loading.load_model(str(tmp_path / "empty"))


def test_metrics_against_direct_computation():
  rng = np.random.RandomState(0)
  labels = rng.uniform(size=500) < 0.3
  probs = np.clip(labels * 0.3 + rng.uniform(size=500) * 0.7, 0, 1)
  m = metrics.binary_metrics(labels, probs)
  # Exact ROC AUC (Mann-Whitney) vs the 1000-threshold trapezoid.
  pos, neg = probs[labels], probs[~labels]
  exact = np.mean(pos[:, None] > neg[None, :]) + 0.5 * np.mean(pos[:, None] == neg[None, :])
  assert m["auc"] == pytest.approx(exact, abs=2e-3)
  assert m["accuracy"] == np.mean((probs > 0.5) == labels)
  order = np.argsort(-probs)
  hits = labels[order]
  ap = np.sum((np.cumsum(hits) / np.arange(1, 501))[hits]) / hits.sum()
  assert m["average_precision"] == pytest.approx(ap)
  assert metrics.binary_metrics(labels, np.zeros(500))["precision"] is None


def test_train_and_evaluate_cli(records, tmp_path):
  train_files, val_files = records
  env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
  run = lambda script, *args: subprocess.run(
      [sys.executable, str(ROOT / "astronet" / script), *args], env=env,
      capture_output=True, text=True, timeout=600, cwd=tmp_path)
  proc = run("train.py", "--model=AstroCNNModel", "--config_name=local_global",
             "--train_files=" + train_files, "--eval_files=" + val_files,
             "--model_dir=model", "--train_steps=4", "--eval_every_steps=4",
             "--config_overrides=" + json.dumps(FAST), "--seed=3")
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert "auc=" in proc.stdout
  before = sorted(p.name for p in (tmp_path / "model").iterdir())
  proc = run("evaluate.py", "--eval_files=" + val_files, "--model_dir=model",
             "--output=metrics_val.json")
  assert proc.returncode == 0, proc.stderr[-2000:]
  # The model directory given for evaluation is left as it was.
  assert sorted(p.name for p in (tmp_path / "model").iterdir()) == before
  written = json.loads((tmp_path / "metrics_val.json").read_text())
  assert written["num_examples"] == 160
  assert "accuracy: {}".format(written["accuracy"]) in proc.stdout
  proc = run("train.py", "--model=AstroRNN", "--train_files=" + train_files,
             "--model_dir=m2")
  assert proc.returncode == 2 and "Unknown model 'AstroRNN'" in proc.stderr
  proc = run("train.py", "--train_files=/nonexistent/train*", "--model_dir=m3")
  assert proc.returncode == 2 and "Found no input files" in proc.stderr


def test_predict_cli_from_light_curve(records, test_data, tmp_path):
  import keras
  keras.utils.set_random_seed(0)
  train_files, _ = records
  trainer = training.Trainer("AstroCNNModel", tess_config(), str(tmp_path / "model"))
  trainer.train(train_files, 2, verbose=False)
  golden = np.load(test_data / "triage" / "golden_views.npz")
  logit = trainer.model({v: golden["100000001/" + v].astype(np.float32)[None]
                         for v in ("global_view", "local_view")}, training=False)
  expected = float(1 / (1 + np.exp(-float(np.asarray(logit).reshape(-1)[0]))))
  env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
  proc = subprocess.run(
      [sys.executable, str(ROOT / "astronet" / "predict.py"), "--model_dir=model",
       "--tess_data_dir=" + str(test_data / "triage" / "lightcurves"), "--tic_id=100000001",
       "--sector=2", "--period=3.2083", "--t0=1355.474756", "--duration=" + str(3.1 / 24),
       "--output_image_file=views.png"],
      env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr[-2000:]
  probability = float(proc.stdout.split("Prediction:")[1])
  assert probability == pytest.approx(expected, abs=1e-6)
  assert (tmp_path / "views.png").stat().st_size > 10000
  proc = subprocess.run(
      [sys.executable, str(ROOT / "astronet" / "predict.py"), "--model_dir=model",
       "--kepler_data_dir=" + str(test_data / "kepler" / "fits"), "--kepler_id=11442793",
       "--period=14.44912", "--t0=2.2", "--duration=0.11267"],
      env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
  assert proc.returncode == 2 and "not kepler views" in proc.stderr


def test_mixed_precision_under_mirrored_strategy(records, tmp_path):
  """The GPU flags work on CPU too: one replica, float16 compute, float32 weights and logits."""
  import keras
  keras.utils.set_random_seed(0)
  train_files, _ = records
  trainer = training.Trainer("AstroCNNModel", tess_config(), str(tmp_path), distribution="mirrored",
                             mixed_precision=True)
  assert trainer.strategy.num_replicas_in_sync >= 1
  conv = trainer.model.get_layer("global_view_hidden.block_1.conv_1")
  assert conv.compute_dtype == "float16" and conv.kernel.dtype == "float32"
  assert trainer.model.get_layer("logits").compute_dtype == "float32"
  before = evaluation.evaluate(trainer.model, trainer.config, train_files)
  trainer.train(train_files, 20, seed=1, verbose=False)
  after = evaluation.evaluate(trainer.model, trainer.config, train_files)
  assert np.isfinite(after["loss"]) and after["loss"] < before["loss"]
  assert keras.mixed_precision.global_policy().name == "float32"  # not leaked
  # Resumes into a plain float32 trainer (same variables).
  resumed = training.Trainer("AstroCNNModel", tess_config(), str(tmp_path))
  assert int(resumed.step.numpy()) == 20


def test_jit_compile_matches_the_plain_step(records, tmp_path):
  """--jit_compile (XLA) trains the same model as the plain step: same seed, same data order."""
  import keras
  train_files, _ = records
  weights = {}
  for jit in (False, True):
    keras.utils.set_random_seed(0)
    trainer = training.Trainer("AstroCNNModel", tess_config(), str(tmp_path / str(jit)),
                               jit_compile=jit)
    trainer.train(train_files, 10, seed=1, verbose=False)
    weights[jit] = [np.asarray(w) for w in trainer.model.weights]
  for plain, compiled in zip(weights[False], weights[True]):
    np.testing.assert_allclose(compiled, plain, rtol=1e-3, atol=1e-4)


def test_multi_worker_training_with_two_local_workers(records, tmp_path):
  """Two train.py processes on localhost ports (TF_CONFIG): both finish, and
  the checkpoints are written once, by worker 0, into --model_dir."""
  train_files, _ = records
  outputs = run_local_workers(
      [sys.executable, str(ROOT / "astronet" / "train.py"), "--model=AstroCNNModel",
       "--config_name=local_global", "--train_files=" + train_files, "--model_dir=model",
       "--train_steps=4", "--save_every_steps=2", "--shuffle_buffer_size=64",
       "--config_overrides=" + json.dumps(FAST), "--seed=1", "--distribution=multi_worker"],
      cwd=tmp_path)
  for returncode, _, err in outputs:
    assert returncode == 0, err[-3000:]
  model_dir = tmp_path / "model"
  assert sorted(f for f in os.listdir(model_dir) if f.endswith(".index")) == [
      "ckpt-2.index", "ckpt-4.index"]
  assert not (model_dir / ".workers").exists()  # worker 1's scratch copies are gone
  runs = json.loads((model_dir / model_dir_lib.TRAINING_LOG).read_text())["runs"]
  assert len(runs) == 1 and runs[0]["end_step"] == 4
  assert "MultiWorkerMirroredStrategy" in outputs[1][2] or "worker" in outputs[1][2]
  model, _, _ = model_loading.load_model(str(model_dir))
  assert model.count_params() == 2026721
