"""Exports (.keras, SavedModel, ONNX) of single models and the averaged ensemble, with model cards."""

import json

import numpy as np
import pytest
import tensorflow as tf

from astronet import models
from astronet.ops import model_export as export_model
from astronet.ops import prediction
from astronet.ops import training
from astronet.util import config_util

TESS_VIEWS = {"global_view": 201, "local_view": 61}


@pytest.fixture(scope="module")
def ensemble(shared_fixtures):
  """The original 2-model Triage ensemble and its per-record mean probabilities."""
  triage = shared_fixtures / "triage"
  golden = json.loads((triage / "ensemble" / "predictions_avg.json").read_text())
  records = prediction.read_records([str(triage / "tfrecords" / "test-00000-of-00001")],
                                    TESS_VIEWS)
  subset = records.subset(np.arange(len(records)) < 300)
  expected = np.array([np.mean(r["probs_per_model"]) for r in golden["per_record"][:300]])
  return str(triage / "ensemble"), subset, expected


def test_keras_and_saved_model_exports_of_the_ensemble(ensemble, tmp_path):
  import keras
  model_dir, records, expected = ensemble
  card = export_model.export(model_dir, str(tmp_path / "ens.keras"), "keras", average=True)
  assert card["ensemble_size"] == 2 and card["mission"] == "tess"
  assert card["preprocessing"]["views"]["local_view"]["num_bins"] == 61
  loaded = keras.models.load_model(str(tmp_path / "ens.keras"))
  p = loaded.predict(records.views, verbose=0)[:, 0]
  assert np.max(np.abs(p - expected)) <= 1e-5
  assert export_model.read_model_card(str(tmp_path / "ens.keras")) == json.loads(
      json.dumps(card, default=str))
  export_model.export(model_dir, str(tmp_path / "served"), "saved_model", average=True)
  served = tf.saved_model.load(str(tmp_path / "served"))
  p = served.serve({k: tf.constant(v) for k, v in records.views.items()}).numpy()[:, 0]
  assert np.max(np.abs(p - expected)) <= 1e-5
  assert export_model.read_model_card(str(tmp_path / "served"))["members"][1]["source"].endswith(
      "model_1")
  # The exported file serves batch_predict like a model_dir.
  member = prediction.load_member(str(tmp_path / "ens.keras"))
  assert member.outputs_probability
  assert np.max(np.abs(member.probabilities(records.views) - expected)) <= 1e-5


def test_onnx_export_matches_keras(ensemble, tmp_path):
  pytest.importorskip("tf2onnx")
  ort = pytest.importorskip("onnxruntime")
  model_dir, records, expected = ensemble
  export_model.export(model_dir, str(tmp_path / "ens.onnx"), "onnx", average=True)
  session = ort.InferenceSession(str(tmp_path / "ens.onnx"))
  feed = {i.name: records.views[i.name] for i in session.get_inputs()}
  p = session.run(None, feed)[0][:, 0]
  assert np.max(np.abs(p - expected)) <= 1e-5
  card = export_model.read_model_card(str(tmp_path / "ens.onnx"))
  assert card["inputs"]["global_view"]["shape"] == [None, 201]


def test_single_model_card_carries_training_and_metrics(test_data, tmp_path):
  import keras
  keras.utils.set_random_seed(0)
  config = config_util.apply_overrides(
      models.get_model_config("AstroCNNModel", "local_global", "tess"),
      {"hparams": {"batch_size": 16}})
  records = test_data / "triage" / "records"
  trainer = training.Trainer("AstroCNNModel", config, str(tmp_path / "model"))
  trainer.train(str(records / "train-slice*"), 2, seed=4, verbose=False)
  (tmp_path / "model" / "metrics_val.json").write_text(json.dumps({"auc": 0.5}))
  card = export_model.export(str(tmp_path / "model"), str(tmp_path / "one.keras"))
  member = card["members"][0]
  assert member["model"] == "AstroCNNModel" and member["config"]["hparams"]["batch_size"] == 16
  assert member["training"][0]["end_step"] == 2 and member["training"][0]["seed"] == 4
  assert "train-slice" in member["training"][0]["train_files"]
  assert member["metrics"] == {"val": {"auc": 0.5}}
  assert card["versions"]["tensorflow"] == tf.__version__
  with pytest.raises(ValueError, match="ending in .keras"):
    export_model.export(str(tmp_path / "model"), str(tmp_path / "one.zip"), "keras")
