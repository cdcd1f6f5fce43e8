"""Transfer learning: original Kepler checkpoint -> TESS records, heads, freezing, features."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from astronet import checkpoint_import
from astronet import models
from astronet.ops import model_loading
from astronet.transfer import classify_features
from astronet.transfer import extract_features
from astronet.transfer import finetune
from astronet.transfer import transfer_model
from tests.conftest import ROOT
from tf_util import errors


@pytest.fixture(scope="module")
def records(test_data):
  base = test_data / "triage" / "records"
  return str(base / "train-slice*"), str(base / "val-slice*")


def checkpoint_weights(model_dir, step):
  """{TF1 name: value} of ckpt-{step} of a model_dir."""
  model, name, config = model_loading.load_model(str(model_dir))
  fresh = models.build_model(name, config)
  tf.train.Checkpoint(model=fresh).restore(
      os.path.join(str(model_dir), "ckpt-{}".format(step))).expect_partial()
  return checkpoint_import.weights_by_name(fresh)


def test_kepler_to_tess_freezing_and_gradual_unfreezing(shared_fixtures, records, tmp_path):
  import keras
  keras.utils.set_random_seed(0)
  kepler = shared_fixtures / "kepler" / "astrocnn_ckpt"
  source = checkpoint_import.read_tf1_checkpoint(str(kepler)).weights
  train_files, val_files = records
  model_dir = tmp_path / "ft"
  report = finetune.run(str(kepler), train_files, val_files, str(model_dir), freeze="towers",
                        head_steps=4, unfreeze_schedule="block_1:2,block_2:2",
                        learning_rate=1e-3, batch_size=16, seed=1, verbose=False)
  # Conv towers transfer between missions; the first dense layer (16576 -> 1120
  # inputs) and the head are new.
  assert sorted(report["weights"]["reinitialised"]) == [
      "logits/bias", "logits/kernel", "pre_logits_hidden/fully_connected_1/bias",
      "pre_logits_hidden/fully_connected_1/kernel"]
  assert len(report["weights"]["copied"]) == 34
  assert [s["end_step"] for s in report["stages"]] == [4, 6, 8]
  assert all(s["eval"]["num_examples"] == 160 for s in report["stages"])
  start, head_done, block1_done, final = (checkpoint_weights(model_dir, s) for s in (0, 4, 6, 8))
  top = "global_view_hidden/block_5/conv_2/kernel"       # group block_1
  second = "global_view_hidden/block_4/conv_1/kernel"    # group block_2
  bottom = "global_view_hidden/block_1/conv_1/kernel"    # never unfrozen
  fc2 = "pre_logits_hidden/fully_connected_2/kernel"
  for name in (top, second, bottom, fc2):
    np.testing.assert_array_equal(start[name], source[name])
  np.testing.assert_array_equal(head_done[top], source[top])      # frozen in phase 1
  assert not np.array_equal(head_done[fc2], source[fc2])          # trained in phase 1
  assert not np.array_equal(block1_done[top], head_done[top])     # unfrozen in stage 2
  np.testing.assert_array_equal(block1_done[second], source[second])
  assert not np.array_equal(final[second], block1_done[second])   # unfrozen in stage 3
  np.testing.assert_array_equal(final[bottom], source[bottom])
  assert (model_dir / "transfer_history.png").stat().st_size > 10000
  # Re-running resumes: every stage is done, nothing changes.
  again = finetune.run(str(kepler), train_files, val_files, str(model_dir), freeze="towers",
                       head_steps=4, unfreeze_schedule="block_1:2,block_2:2",
                       learning_rate=1e-3, batch_size=16, verbose=False)
  assert again["stages"] == json.loads((model_dir / "transfer.json").read_text())["stages"]


@pytest.mark.parametrize("head,label_map,outputs", [
    ("softmax", {"PC": 0, "EB": 1, "J": 2, "O": 2}, 3),
    ("sigmoid", {"PC": [1, 0], "EB": [1, 1], "J": [0, 0], "O": [0, 0]}, 2),
])
def test_multi_class_and_multi_label_heads(shared_fixtures, records, tmp_path, head, label_map,
                                           outputs):
  base = shared_fixtures / "triage" / "extra_astrocnn_2000steps" / "model"
  train_files, val_files = records
  report = finetune.run(str(base), train_files, val_files, str(tmp_path / head), head=head,
                        label_map=label_map, freeze="all", head_steps=3, batch_size=16,
                        learning_rate=1e-3, verbose=False)
  result = report["stages"][-1]["eval"]
  model, _, config = model_loading.load_model(str(tmp_path / head))
  assert model.outputs[0].shape[-1] == outputs
  assert config["hparams"]["output_dim"] == outputs
  assert result["num_examples"] == 160 and 0 <= result["accuracy"] <= 1
  if head == "softmax":
    assert np.array(result["confusion_matrix"]).sum() == 160
  else:
    assert len(result["auc_per_output"]) == 2
  # Only the head was trained: everything else equals the base checkpoint.
  source = checkpoint_import.read_tf1_checkpoint(str(base)).weights
  trained = checkpoint_import.weights_by_name(model)
  for name, value in source.items():
    if not name.startswith("logits/"):
      np.testing.assert_array_equal(trained[name], value)


def test_feature_extraction_and_light_classifiers(shared_fixtures, records, tmp_path):
  base = str(shared_fixtures / "triage" / "extra_astrocnn_2000steps" / "model")
  train_files, val_files = records
  train = extract_features.extract(base, train_files)
  extract_features.save(str(tmp_path / "train.npz"), train)
  loaded = extract_features.load(str(tmp_path / "train.npz"))
  assert loaded["features"].shape == (320, 512)
  np.testing.assert_array_equal(loaded["features"], train["features"])
  # The features are the pre-logits activations: logits = features @ W + b.
  model, _, _, _ = checkpoint_import.import_checkpoint(base)
  from astronet.ops import prediction
  views = prediction.read_records([train["files"][0]], {"global_view": 201, "local_view": 61})
  kernel, bias = model.get_layer("logits").get_weights()
  np.testing.assert_allclose(train["features"][:len(views)] @ kernel + bias,
                             model(views.views).numpy(), atol=1e-4)
  val = extract_features.extract(base, val_files)
  result = classify_features.evaluate_classifier("logreg", train, val, ["PC", "EB"], cv_folds=3)
  assert 0.5 < result["cv_auc"] <= 1 and result["eval"]["num_examples"] == 160
  assert result["eval"]["auc"] > 0.8  # pretrained Triage features separate PC/EB from junk


def test_bad_transfer_inputs(shared_fixtures, records, tmp_path):
  train_files, val_files = records
  config = models.get_model_config("AstroCNNModel", "local_global", "tess")
  with pytest.raises(ValueError, match="--head=sigmoid needs a multi-label label_map"):
    transfer_model.transfer_config(config, {"global_view": 201, "local_view": 61}, "sigmoid",
                                   {"PC": 1, "J": 0})
  with pytest.raises(ValueError, match="--head=binary needs labels 0 and 1"):
    transfer_model.head_output_dim("binary", {"PC": 0, "EB": 1, "J": 2})
  model = models.build_model("AstroCNNModel", config)
  with pytest.raises(ValueError, match=r"Unknown layer groups \['block_9'\]"):
    transfer_model.parse_unfreeze_schedule("block_9:10", model)
  with pytest.raises(errors.CheckpointError, match="does not exist"):
    finetune.run(str(tmp_path / "missing"), train_files, val_files, str(tmp_path / "m"))
  env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
  proc = subprocess.run(
      [sys.executable, str(ROOT / "astronet" / "transfer" / "finetune.py"),
       "--base_model=" + str(shared_fixtures / "kepler" / "astrocnn_ckpt"),
       "--train_files=" + train_files, "--model_dir=" + str(tmp_path / "cli"),
       "--head=softmax", '--label_map={"PC": 1, "J": 0}'],
      env=env, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 2 and "Traceback" not in proc.stderr
  # One error listing the records (file:index and value), before model_dir exists.
  assert "labels outside the label map ['J', 'PC']" in proc.stderr
  assert "Disposition='EB'" in proc.stderr
  assert not (tmp_path / "cli").exists()
