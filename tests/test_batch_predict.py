"""batch_predict / find_incorrect / plot_roc / ensemble export on tiny models trained on real records."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from astronet import models
from astronet.ops import dataset_ops
from astronet.ops import error_analysis
from astronet.ops import evaluation
from astronet.ops import metrics
from astronet.ops import model_loading
from astronet.ops import prediction
from astronet.ops import prediction_files
from astronet.ops import training
from astronet.util import config_util
from tests.conftest import ROOT
from tf_util import errors

FAST = {"hparams": {"batch_size": 32, "learning_rate": 1e-4}}
ENV = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")


def run_script(script, *args, cwd):
  return subprocess.run([sys.executable, str(ROOT / "astronet" / script), *args],
                        env=ENV, capture_output=True, text=True, timeout=600, cwd=cwd)


@pytest.fixture(scope="module")
def record_dir(test_data):
  return str(test_data / "triage" / "records")


@pytest.fixture(scope="module")
def ensemble_dir(tmp_path_factory, record_dir):
  """Two AstroCNNModels (seeds 1, 2) trained 30 steps on the real train slice."""
  import keras
  base = tmp_path_factory.mktemp("ensemble")
  config = config_util.apply_overrides(
      models.get_model_config("AstroCNNModel", "local_global", "tess"), FAST)
  for seed in (1, 2):
    keras.utils.set_random_seed(seed)
    trainer = training.Trainer("AstroCNNModel", config, str(base / "model_{}".format(seed)))
    trainer.train(os.path.join(record_dir, "train-slice*"), 30, seed=seed, verbose=False)
  (base / "notes.txt").write_text("not a model: --average must skip it\n")
  return base


def val_files(record_dir):
  return [os.path.join(record_dir, "val-slice-00000-of-00001")]


def reference_probabilities(model_dir, filenames):
  """Per-record sigmoid(logits), independently of ops.prediction."""
  model, _, config = model_loading.load_model(str(model_dir))
  dataset = dataset_ops.make_dataset(config, ",".join(filenames), training=False,
                                  include_labels=False)
  _, logits = evaluation.predict_logits(model, dataset)
  return tf.sigmoid(tf.constant(logits, tf.float32)).numpy()


def read_raw_records(filenames):
  rows = []
  for filename in filenames:
    for raw in tf.data.TFRecordDataset(filename):
      f = tf.train.Example.FromString(raw.numpy()).features.feature
      rows.append((f["tic_id"].int64_list.value[0], f["Sectors"].int64_list.value[0],
                   f["Disposition"].bytes_list.value[0].decode()))
  return rows


def test_read_records_and_average_by_key(record_dir):
  files = val_files(record_dir)
  records = prediction.read_records(files, {"global_view": 201, "local_view": 61})
  raw = read_raw_records(files)
  assert len(records) == len(raw) == 160
  assert [(int(i), int(s), l) for i, s, l in zip(records.ids, records.sub_ids,
                                                 records.labels)] == raw
  assert records.views["global_view"].shape == (160, 201)
  # Original order: first-seen keys; member 0's values, then member 1's.
  probs = np.array([[0.1, 0.2, 0.3], [0.5, 0.6, 0.7]], np.float32)
  averaged = prediction.average_by_key([7, 3, 7], probs)
  assert list(averaged) == [7, 3]
  assert averaged[7] == np.mean([np.float32(0.1), np.float32(0.3), np.float32(0.5),
                                 np.float32(0.7)])
  assert averaged[3] == np.mean([np.float32(0.2), np.float32(0.6)])
  with pytest.raises(errors.RecordFormatError, match="val-slice.*local_view.*201"):
    prediction.read_records(files, {"global_view": 201, "local_view": 201})


def test_batch_predict_average_and_export(ensemble_dir, record_dir, tmp_path):
  proc = run_script("batch_predict.py", "--model_dir=" + str(ensemble_dir), "--average",
                    "--tfrecord_dir=" + record_dir, "--tfrecord_pattern=val*",
                    "--suffix=ens", "--export_ensemble=exported.keras", cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr[-3000:]
  lines = (tmp_path / "prediction_ens.txt").read_text().splitlines()
  assert all(re.fullmatch(r"\d+ \d\.\d{3}", line) for line in lines)
  written = prediction_files.read_predictions(str(tmp_path / "prediction_ens.txt"))
  raw = read_raw_records(val_files(record_dir))
  first_seen = list(dict.fromkeys(tic for tic, _, _ in raw))
  assert list(written) == first_seen
  # Independent reference: mean over both models of each star's records.
  files = val_files(record_dir)
  p1 = reference_probabilities(ensemble_dir / "model_1", files)
  p2 = reference_probabilities(ensemble_dir / "model_2", files)
  for tic in first_seen:
    mask = np.array([t == tic for t, _, _ in raw])
    expected = np.mean(np.concatenate([p1[mask], p2[mask]]))
    assert written[tic] == pytest.approx(float(expected), abs=5e-4 + 1e-7)
  # The exported ensemble is ONE file that gives the same averaged predictions.
  proc = run_script("batch_predict.py", "--model_dir=exported.keras",
                    "--tfrecord_dir=" + record_dir, "--tfrecord_pattern=val*",
                    "--suffix=exported", cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr[-3000:]
  exported = prediction_files.read_predictions(str(tmp_path / "prediction_exported.txt"))
  assert list(exported) == first_seen
  assert max(abs(exported[k] - written[k]) for k in written) <= 0.0011  # 3-decimal rounding
  import keras
  model = keras.models.load_model(str(tmp_path / "exported.keras"))
  records = prediction.read_records(files, {"global_view": 201, "local_view": 61})
  direct = model.predict(records.views, verbose=0)[:, 0]
  np.testing.assert_allclose(direct, (p1 + p2) / 2, atol=1e-6)


def test_find_incorrect_and_plot_roc(ensemble_dir, record_dir, tmp_path):
  proc = run_script("find_incorrect.py", "--model_dir=" + str(ensemble_dir), "--average",
                    "--tfrecord_dir=" + record_dir, "--tfrecord_pattern=val*",
                    "--suffix=ens", "--plot", "--plot_dispositions=PC,EB,J",
                    "--plot_threshold=0.5", "--save_dir=plots", cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr[-3000:]
  lines = (tmp_path / "true_vs_pred_ens.txt").read_text().splitlines()
  assert all(re.fullmatch(r"[01]\.000000 \d\.\d{3}", line) for line in lines)
  truth, predicted = prediction_files.read_true_vs_pred(str(tmp_path / "true_vs_pred_ens.txt"))
  raw = read_raw_records(val_files(record_dir))
  by_key = {}
  for tic, sector, label in raw:
    by_key["{}-{}".format(tic, sector)] = label
  assert len(lines) == len(by_key)
  np.testing.assert_array_equal(truth, [l in ("PC", "EB") for l in by_key.values()])
  printed = proc.stdout.splitlines()
  threshold_lines = [l for l in printed if l.startswith("Threshold")]
  assert [l.split(":")[0] for l in threshold_lines] == [
      "Threshold {}".format(t) for t in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)]
  assert printed[-1] == "Total {} PCs".format(list(by_key.values()).count("PC"))
  # Every TCE misclassified at 0.5 got a figure.
  wrong = int(np.sum((predicted >= 0.5) != truth))
  plots = os.listdir(tmp_path / "plots") if wrong else []
  assert len(plots) == wrong
  proc = run_script("plot_roc.py", "--input_files=true_vs_pred_ens.txt", "--labels=tiny",
                    "--output_file=roc.png", cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert (tmp_path / "roc.png").stat().st_size > 20000
  auc = float(re.search(r"AUC=([0-9.]+)", proc.stdout).group(1))
  pos, neg = predicted[truth], predicted[~truth]
  exact = np.mean(pos[:, None] > neg[None, :]) + 0.5 * np.mean(pos[:, None] == neg[None, :])
  assert auc == pytest.approx(exact, abs=1e-4)


def test_threshold_table_has_no_zero_division():
  labels = np.array([1, 0, 1, 0], bool)
  table = metrics.threshold_table(labels, np.array([0.05, 0.1, 0.35, 0.2]),
                                  is_pc=np.array([1, 0, 0, 0], bool))
  at = {row["threshold"]: row for row in table}
  assert (at[0.1]["tp"], at[0.1]["fp"], at[0.1]["fn"], at[0.1]["tn"]) == (1, 2, 1, 0)
  assert at[0.1]["specificity"] == 0.0 and at[0.1]["pcs_in_false_negatives"] == 1
  assert at[0.4]["precision"] is None and at[0.4]["recall"] == 0.0
  lines = error_analysis.format_table(table)
  assert "Threshold 0.4: precision=undefined, recall=0.0. Number of PCs in FNs = 1" in lines


def test_bad_model_dirs(ensemble_dir, record_dir, tmp_path):
  with pytest.raises(errors.CheckpointError, match="holds no model directories"):
    prediction.model_paths(str(tmp_path), average=True)
  with pytest.raises(errors.CheckpointError, match="does not exist"):
    prediction.model_paths(str(tmp_path / "missing"), average=False)
  kepler_dir = tmp_path / "kepler"
  kepler = models.get_model_config("AstroFCModel", "local_global", "kepler")
  training.Trainer("AstroFCModel", kepler, str(kepler_dir)).manager.save()
  with pytest.raises(errors.CheckpointError, match="must share their inputs"):
    prediction.load_members("{},{}".format(ensemble_dir / "model_1", kepler_dir), False)
  proc = run_script("batch_predict.py", "--model_dir=" + str(kepler_dir),
                    "--tfrecord_dir=" + record_dir, "--tfrecord_pattern=val*", cwd=tmp_path)
  assert proc.returncode == 2
  assert "val-slice-00000-of-00001" in proc.stderr and "global_view" in proc.stderr
  proc = run_script("find_incorrect.py", "--model_dir=" + str(ensemble_dir), "--average",
                    "--tfrecord_dir=" + str(tmp_path), cwd=tmp_path)
  assert proc.returncode == 2 and "Found no input files" in proc.stderr


def test_ensemble_train_script(record_dir, tmp_path):
  env = dict(ENV, NUM_MODELS="2", PYTHON=sys.executable,
             TRAIN_FLAGS='--config_overrides={"hparams":{"batch_size":16}} --eval_every_steps=2')
  proc = subprocess.run(["bash", str(ROOT / "astronet" / "ensemble_train.sh"),
                         str(tmp_path / "ens"), "2", record_dir],
                        env=env, capture_output=True, text=True, timeout=600)
  # The bundled slice names its files train-slice* / val-slice*: the script's globs match.
  assert proc.returncode == 0, proc.stderr[-3000:]
  weights = []
  for i in (1, 2):
    model, _, config = model_loading.load_model(str(tmp_path / "ens" / "model_{}".format(i)))
    assert config["hparams"]["batch_size"] == 16
    weights.append(model.get_layer("logits").get_weights()[0])
  assert not np.allclose(weights[0], weights[1])  # Different seeds.
  assert [os.path.basename(p) for p in prediction.model_paths(str(tmp_path / "ens"), True)] == [
      "model_1", "model_2"]
  proc = subprocess.run(["bash", str(ROOT / "astronet" / "ensemble_train.sh"),
                         str(tmp_path / "ens2"), "2", str(tmp_path)],
                        env=env, capture_output=True, text=True, timeout=60)
  assert proc.returncode == 2 and "no training records" in proc.stderr


def test_onnx_backend_predicts_as_tensorflow_without_importing_it(record_dir, tmp_path):
  pytest.importorskip("onnxruntime")
  pytest.importorskip("google_crc32c")
  from astronet.ops import record_arrays
  from tf_util import tfrecord_io
  env = dict(ENV, XDG_CACHE_HOME=str(tmp_path / "cache"))
  args = ["--pretrained=triage", "--tfrecord_dir=" + record_dir,
          "--tfrecord_pattern=val-slice*"]
  def run(*extra):
    return subprocess.run([sys.executable, "-X", "importtime",
                           str(ROOT / "astronet" / "batch_predict.py"), *args, *extra],
                          env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
  # auto with nothing converted yet: TensorFlow, as before.
  tf_run = run("--suffix=tf")
  assert tf_run.returncode == 0, tf_run.stderr[-2000:]
  # onnx: converts once (cached by the .keras sha256), then onnxruntime.
  assert run("--suffix=convert", "--backend=onnx").returncode == 0
  assert len(list((tmp_path / "cache" / "astronet" / "onnx").glob("*.onnx"))) == 1
  fast = run("--suffix=onnx")  # auto now takes the converted model
  assert fast.returncode == 0, fast.stderr[-2000:]
  imported = {line.rsplit("|", 1)[-1].strip() for line in fast.stderr.splitlines()}
  assert "onnxruntime" in imported and "tensorflow" not in imported and "keras" not in imported
  assert (tmp_path / "prediction_onnx.txt").read_text() == (
      tmp_path / "prediction_tf.txt").read_text()
  # The numbers behind the file agree with the TensorFlow path.
  from astronet import pretrained
  from astronet.ops import onnx_inference
  model_file = pretrained.model_files("triage")[0]
  files = val_files(record_dir)
  member = prediction.load_member(model_file)
  records = record_arrays.read_records_local(files, member.feature_lengths)
  reference = prediction.read_records(files, member.feature_lengths)
  np.testing.assert_array_equal(records.ids, reference.ids)
  np.testing.assert_array_equal(records.labels, reference.labels)
  for name in member.feature_lengths:
    np.testing.assert_array_equal(records.views[name], reference.views[name])
  os.environ["XDG_CACHE_HOME"] = str(tmp_path / "cache")
  try:
    onnx_member = onnx_inference.load_member(model_file, convert_missing=False)
  finally:
    del os.environ["XDG_CACHE_HOME"]
  np.testing.assert_allclose(onnx_member.probabilities(records.views),
                             member.probabilities(reference.views), atol=1e-5)
  # Jobs it cannot run are one clear error with --backend=onnx.
  bad = run("--suffix=x", "--backend=onnx", "--plot", "--save_dir=" + str(tmp_path / "p"))
  assert bad.returncode == 2 and "--backend=onnx cannot run this job" in bad.stderr
  # A damaged or truncated record is named, as TensorFlow's reader would refuse it.
  data = bytearray(open(files[0], "rb").read())
  data[100] ^= 0xFF
  damaged = tmp_path / "damaged"
  damaged.write_bytes(bytes(data))
  with pytest.raises(errors.RecordFormatError, match=r"damaged: record 0 is corrupt \(CRC"):
    tfrecord_io.read_records(str(damaged))
  damaged.write_bytes(open(files[0], "rb").read()[:-7])
  with pytest.raises(errors.RecordFormatError, match="truncated"):
    tfrecord_io.read_records(str(damaged))
