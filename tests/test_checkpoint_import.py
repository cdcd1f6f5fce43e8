"""Checkpoints of the ORIGINAL TF1 code load into our Keras models and predict as the originals did."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from astronet import checkpoint_import
from astronet import models
from astronet.astro_model import configurations
from astronet.ops import evaluation
from astronet.ops import losses
from astronet.ops import model_loading
from astronet.ops import prediction
from astronet.ops import training
from tests.conftest import ROOT
from tf_util import errors

TOLERANCE = 1e-5  # |Δp| per record (fixture READMEs).
ENV = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
KEPLER_VIEWS = {"global_view": 2001, "local_view": 201}
TESS_VIEWS = {"global_view": 201, "local_view": 61}


def run_script(script, *args, cwd):
  return subprocess.run([sys.executable, str(ROOT / "astronet" / script), *args],
                        env=ENV, capture_output=True, text=True, timeout=600, cwd=cwd)


@pytest.fixture(scope="module")
def kepler(shared_fixtures):
  return shared_fixtures / "kepler"


@pytest.fixture(scope="module")
def triage(shared_fixtures):
  return shared_fixtures / "triage"


def kepler_records(kepler):
  return prediction.read_records(
      [str(kepler / "records" / "kepler90_golden-00000-of-00001.tfrecord")], KEPLER_VIEWS)


def golden_kepler(path):
  by_index = json.loads(path.read_text())["predictions_by_index"]
  return (np.array([by_index[str(i)]["prediction"] for i in range(len(by_index))]),
          np.array([by_index[str(i)]["logit"] for i in range(len(by_index))]))


@pytest.mark.parametrize("use_saved_config", [True, False])
def test_kepler_checkpoint_predictions(kepler, use_saved_config):
  model, name, config, checkpoint = checkpoint_import.import_checkpoint(
      str(kepler / "astrocnn_ckpt"), use_saved_config=use_saved_config)
  assert name == "AstroCNNModel" and checkpoint.global_step == 20
  assert model.count_params() == 9_940_193
  assert configurations.feature_lengths(config) == KEPLER_VIEWS
  records = kepler_records(kepler)
  logits = model(records.views, training=False).numpy()[:, 0]
  probabilities, golden_logits = golden_kepler(kepler / "astrocnn_ckpt" / "predictions.json")
  assert np.max(np.abs(tf.sigmoid(logits).numpy() - probabilities)) <= TOLERANCE
  assert np.max(np.abs(logits - golden_logits)) <= 1e-4


def test_triage_checkpoint_predictions_and_metrics(triage, tmp_path):
  model, _, config, checkpoint = checkpoint_import.import_checkpoint(
      str(triage / "astrocnn_ckpt"))
  assert checkpoint.global_step == 200 and model.count_params() == 2_026_721
  golden = json.loads((triage / "astrocnn_ckpt" / "predictions_test.json").read_text())
  records = prediction.read_records([str(triage / "tfrecords" / "test-00000-of-00001")],
                                    TESS_VIEWS)
  member = prediction.Member("astrocnn_ckpt", model, TESS_VIEWS)
  probabilities = member.probabilities(records.views)
  expected = np.array([r["probs_per_model"][0] for r in golden["per_record"]])
  assert [r["tic_id"] for r in golden["per_record"]] == records.ids.tolist()
  assert np.max(np.abs(probabilities - expected)) <= TOLERANCE
  # evaluate.py's metrics on val equal the original estimator's.
  metrics = evaluation.evaluate(model, config, str(triage / "tfrecords" / "val*"))
  original = json.loads((triage / "astrocnn_ckpt" / "metrics_val.json").read_text())
  original = original["estimator_evaluate"]
  assert metrics["num_examples"] == original["num_examples"]
  assert metrics["true_negatives"] == original["confusion_matrix/true_negatives"]
  assert metrics["false_negatives"] == original["confusion_matrix/false_negatives"]
  assert metrics["accuracy"] == pytest.approx(original["accuracy/accuracy"], abs=1e-7)
  assert metrics["auc"] == pytest.approx(original["auc"], abs=1e-5)
  assert metrics["loss"] == pytest.approx(original["loss"], abs=1e-5)
  assert metrics["cross_entropy"] == pytest.approx(original["losses/weighted_cross_entropy"],
                                                   abs=1e-5)


def test_ensemble_batch_predict_reproduces_the_original_file(triage, tmp_path):
  proc = run_script("batch_predict.py", "--model_dir=" + str(triage / "ensemble"),
                    "--average", "--tfrecord_dir=" + str(triage / "tfrecords"),
                    "--suffix=ensemble_test", cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr[-3000:]
  ours = (tmp_path / "prediction_ensemble_test.txt").read_bytes()
  assert ours == (triage / "ensemble" / "prediction_ensemble_test.txt").read_bytes()
  # Per-record, per-member probabilities within tolerance.
  golden = json.loads((triage / "ensemble" / "predictions_avg.json").read_text())
  members = prediction.load_members(str(triage / "ensemble"), average=True)
  assert [os.path.basename(m.name) for m in members] == golden["model_dirs_in_glob_order"]
  records = prediction.read_records([str(triage / "tfrecords" / "test-00000-of-00001")],
                                    TESS_VIEWS)
  probabilities = prediction.predict_members(members, records)
  expected = np.array([r["probs_per_model"] for r in golden["per_record"]]).T
  assert np.max(np.abs(probabilities - expected)) <= TOLERANCE
  averaged = prediction.average_by_key(records.ids.tolist(), probabilities)
  assert [str(k) for k in averaged] == list(golden["mean_by_tic"])
  assert max(abs(averaged[int(k)] - v) for k, v in golden["mean_by_tic"].items()) <= TOLERANCE


def test_find_incorrect_reproduces_the_original_outputs(triage, tmp_path):
  extra = triage / "extra_astrocnn_2000steps"
  proc = run_script("find_incorrect.py", "--model_dir=" + str(extra / "model"),
                    "--tfrecord_dir=" + str(triage / "tfrecords"),
                    "--suffix=astrocnn2000_test", cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert ((tmp_path / "true_vs_pred_astrocnn2000_test.txt").read_bytes()
          == (extra / "true_vs_pred_astrocnn2000_test.txt").read_bytes())
  original = (extra / "find_incorrect_astrocnn2000_test.stdout.txt").read_text().splitlines()
  ours = proc.stdout.splitlines()
  assert ours[1:] == original[1:]  # Line 0 is the record file's path.
  assert ours[0].endswith("test-00000-of-00001")


def test_restore_optimizer_continues_tf1_adam(kepler, tmp_path):
  source = kepler / "astrocnn_ckpt_small_adam"
  checkpoint = checkpoint_import.read_tf1_checkpoint(str(source))
  model, name, config, _ = checkpoint_import.import_checkpoint(str(source))
  records = kepler_records(kepler)
  probabilities, _ = golden_kepler(source / "predictions.json")
  assert np.max(np.abs(tf.sigmoid(model(records.views)).numpy()[:, 0] - probabilities)) <= TOLERANCE
  trainer = training.Trainer(name, config, str(tmp_path / "model"))
  trainer.step.assign(checkpoint.global_step)
  assert trainer.warm_start(str(source), restore_optimizer=True)
  optimizer = trainer.optimizer
  assert int(optimizer.iterations.numpy()) == 20 and int(trainer.step.numpy()) == 20
  names = checkpoint_import.keras_weight_names(trainer.model)
  kernel = names["logits/kernel"]
  index = optimizer._get_variable_index(kernel)  # pylint: disable=protected-access
  np.testing.assert_array_equal(optimizer._momentums[index].numpy(),  # pylint: disable=protected-access
                                checkpoint.slots["logits/kernel"]["Adam"])
  # One more step equals TF1's AdamOptimizer update from the stored moments and powers.
  features = {k: tf.constant(v) for k, v in records.views.items()}
  labels = tf.constant([1, 0, 1, 0])
  with tf.GradientTape() as tape:
    loss = losses.loss_fn(labels, trainer.model(features, training=True))
  gradient = tape.gradient(loss, kernel).numpy()
  before = kernel.numpy().copy()
  trainer._train_step((features, labels))  # pylint: disable=protected-access
  lr, b1, b2, eps = config["hparams"]["learning_rate"], 0.9, 0.999, 1e-8
  m = b1 * checkpoint.slots["logits/kernel"]["Adam"] + (1 - b1) * gradient
  v = b2 * checkpoint.slots["logits/kernel"]["Adam_1"] + (1 - b2) * gradient**2
  b1_power, b2_power = (float(checkpoint.globals["beta1_power"]),
                        float(checkpoint.globals["beta2_power"]))
  expected = before - lr * np.sqrt(1 - b2_power) / (1 - b1_power) * m / (np.sqrt(v) + eps)
  np.testing.assert_allclose(kernel.numpy(), expected, rtol=1e-5, atol=1e-7)


def test_import_cli_and_warm_start(triage, kepler, test_data, tmp_path):
  extra = triage / "extra_astrocnn_2000steps" / "model"
  proc = run_script("import_checkpoint.py", "--tf1_checkpoint=" + str(extra),
                    "--output=extra.keras", cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr[-3000:]
  summary = json.loads(proc.stdout)
  assert summary["num_parameters"] == 2_026_721 and summary["global_step"] == 2000
  imported, _, _, _ = checkpoint_import.import_checkpoint(str(extra))
  import keras
  loaded = keras.models.load_model(str(tmp_path / "extra.keras"))
  for a, b in zip(loaded.get_weights(), imported.get_weights()):
    np.testing.assert_array_equal(a, b)
  # Fine-tuning from the original checkpoint on the real train slice.
  records = test_data / "triage" / "records"
  proc = run_script("train.py", "--train_files=" + str(records / "train-slice*"),
                    "--model_dir=finetuned", "--train_steps=2",
                    "--warm_start_from=" + str(extra), cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr[-3000:]
  # ckpt-0 (the warm start) holds exactly the original weights; training moved on.
  _, name, config = model_loading.load_model(str(tmp_path / "finetuned"))
  start = models.build_model(name, config)
  tf.train.Checkpoint(model=start).restore(
      str(tmp_path / "finetuned" / "ckpt-0")).expect_partial()
  for a, b in zip(start.get_weights(), imported.get_weights()):
    np.testing.assert_array_equal(a, b)
  finetuned, _, _ = model_loading.load_model(str(tmp_path / "finetuned"))
  assert not np.array_equal(finetuned.get_layer("logits").get_weights()[0],
                            imported.get_layer("logits").get_weights()[0])
  # Architecture mismatch: the Kepler checkpoint into a TESS config.
  proc = run_script("train.py", "--train_files=" + str(records / "train-slice*"),
                    "--model_dir=bad", "--train_steps=1",
                    "--warm_start_from=" + str(kepler / "astrocnn_ckpt"), cwd=tmp_path)
  assert proc.returncode == 2
  assert "pre_logits_hidden/fully_connected_1/kernel (checkpoint [16576, 512], model [1120, 512])" \
      in proc.stderr


def test_bad_checkpoints(kepler, triage, tmp_path):
  with pytest.raises(errors.CheckpointError, match="neither a directory holding a checkpoint"):
    checkpoint_import.read_tf1_checkpoint(str(tmp_path / "model.ckpt-7"))
  with pytest.raises(errors.CheckpointError, match=r"No checkpoint \(\*.index\)"):
    checkpoint_import.read_tf1_checkpoint(str(tmp_path))
  # Truncated data file.
  source = triage / "extra_astrocnn_2000steps" / "model"
  prefix = os.path.basename(checkpoint_import.checkpoint_prefix(str(source)))
  broken = tmp_path / "broken"
  broken.mkdir()
  shutil.copy(source / (prefix + ".index"), broken)
  data = (source / (prefix + ".data-00000-of-00001")).read_bytes()
  (broken / (prefix + ".data-00000-of-00001")).write_bytes(data[:len(data) // 2])
  with pytest.raises(errors.CheckpointError, match="truncated or corrupt"):
    checkpoint_import.read_tf1_checkpoint(str(broken / prefix))
  # Stripped of Adam: --restore_optimizer says so.
  model, name, config, checkpoint = checkpoint_import.import_checkpoint(str(source))
  trainer = training.Trainer(name, config, str(tmp_path / "m"))
  with pytest.raises(errors.CheckpointError, match="no Adam slots"):
    trainer.warm_start(str(source), restore_optimizer=True)
  # Another architecture: every missing / unused / misshaped variable in one message.
  fc = models.build_model("AstroFCModel", models.get_model_config(
      "AstroFCModel", "local_global", "tess"))
  with pytest.raises(errors.CheckpointError, match="not in the model: global_view_hidden/block_1/"
                     "conv_1/bias.*wrong shape: logits/kernel \\(checkpoint \\[512, 1\\], model \\[262, 1\\]\\)"):
    checkpoint_import.assign_weights(fc, checkpoint.weights, "extra")
  # A checkpoint of this package is not a TF1 one.
  training.Trainer(name, config, str(tmp_path / "ours")).manager.save()
  assert not checkpoint_import.is_tf1_checkpoint(str(tmp_path / "ours"))
  with pytest.raises(errors.CheckpointError, match="object-based TF2 checkpoint"):
    checkpoint_import.read_tf1_checkpoint(str(tmp_path / "ours"))
