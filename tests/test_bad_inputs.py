"""Bad input: one clear line naming the culprit, exit status 2, no traceback, nothing lost.

Each case runs a real script as a user would (subprocess) on real data made
bad in one way: out-of-range flags, corrupt or truncated records, NaN views,
labels outside the label map, models of another kind, YAML of the wrong type,
busy or read-only output folders. The library-level guarantees (temporary
names, locks, manifests, content-keyed caches, safe unzip) are tested below
the script cases.
"""

import glob
import json
import os
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from tests.conftest import ROOT
from tf_util import atomic_io
from tf_util import cli
from tf_util import errors

TRIAGE_RECORDS = ROOT / "tests" / "data" / "triage" / "records"
TRAIN_SLICE = TRIAGE_RECORDS / "train-slice-00000-of-00001"
VAL_SLICE = TRIAGE_RECORDS / "val-slice-00000-of-00001"
TESS_FITS = ROOT / "tests" / "data" / "tess" / "tess2018349182459-s0006-0000000219423316-0126-s_lc.fits"
FAST = json.dumps({"hparams": {"batch_size": 32, "learning_rate": 1e-4}})


def run(script, *args, cwd=None, env=None, timeout=300, module=False):
  """(returncode, stdout, stderr) of `python script args` with the user's environment."""
  base = dict(os.environ, PYTHONPATH=str(ROOT))
  base.pop("TF_CPP_MIN_LOG_LEVEL", None)
  base.update(env or {})
  command = ([sys.executable, "-m", script] if module
             else [sys.executable, str(ROOT / script)])
  proc = subprocess.run(command + [str(a) for a in args], cwd=cwd, env=base,
                        capture_output=True, text=True, timeout=timeout)
  return proc.returncode, proc.stdout, proc.stderr


def assert_rejected(result, *culprits, status=2):
  code, out, err = result
  assert code == status, (code, out[-2000:], err[-3000:])
  assert "Traceback" not in err and "Traceback" not in out, err[-3000:]
  lines = [l for l in err.splitlines() if "error:" in l]
  assert len(lines) == 1, err[-3000:]
  for culprit in culprits:
    assert str(culprit) in lines[0], (culprit, lines[0])
  if os.environ.get("ASTRONET_AUDIT_LOG"):  # the table of cases in the report
    with open(os.environ["ASTRONET_AUDIT_LOG"], "a") as f:
      f.write(json.dumps({"test": os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0],
                          "status": code, "message": lines[0]}) + "\n")
  return lines[0]


# --- Records made bad in one way, from the real Triage slice -------------------------


def _raw_records(path):
  import tensorflow as tf
  return [r.numpy() for r in tf.data.TFRecordDataset(str(path))]


def _write(path, serialized):
  import tensorflow as tf
  with tf.io.TFRecordWriter(str(path)) as writer:
    for record in serialized:
      writer.write(record)


def _edit(record, **changes):
  import tensorflow as tf
  example = tf.train.Example.FromString(record)
  for name, edit in changes.items():
    edit(example.features.feature[name])
  return example.SerializeToString()


@pytest.fixture(scope="module")
def bad_records(tmp_path_factory):
  """{kind: path} of one-file record sets, each bad in one way at record 3."""
  out = tmp_path_factory.mktemp("bad_records")
  raw = _raw_records(VAL_SLICE)[:40]
  paths = {}
  # Truncated after record 2 (a kill or a full disk while copying).
  _write(out / "whole", raw)
  data = (out / "whole").read_bytes()
  cut = sum(16 + len(r) for r in raw[:3]) + 10
  paths["truncated"] = out / "truncated-00000-of-00001"
  paths["truncated"].write_bytes(data[:cut])
  # A flipped byte inside record 3 (crc mismatch).
  start = sum(16 + len(r) for r in raw[:3]) + 12 + 5
  corrupt = bytearray(data)
  corrupt[start] ^= 0xFF
  paths["corrupt"] = out / "corrupt-00000-of-00001"
  paths["corrupt"].write_bytes(bytes(corrupt))
  nan = list(raw)
  nan[3] = _edit(raw[3], global_view=lambda f: f.float_list.value.__setitem__(5, float("nan")))
  paths["nan"] = out / "nan-00000-of-00001"
  _write(paths["nan"], nan)
  label = list(raw)
  label[3] = _edit(raw[3], Disposition=lambda f: f.bytes_list.value.__setitem__(0, b"XX"))
  paths["label"] = out / "label-00000-of-00001"
  _write(paths["label"], label)
  (out / "whole").unlink()
  return paths


@pytest.fixture(scope="module")
def models(tmp_path_factory):
  """Trained (2 steps) Astronet model_dir, its model.keras, an exported ensemble
  (.keras) and SavedModel, a flare transformer .keras and a folder holding a
  foreign config.json."""
  import keras

  from astronet import models as astro_models
  from astronet.ops import model_export
  from astronet.ops import prediction
  from astronet.ops import training
  from astronet.util import config_util
  from flare_transformer import config as flare_config
  from flare_transformer import model as flare_model
  keras.utils.set_random_seed(0)
  out = tmp_path_factory.mktemp("models")
  config = config_util.apply_overrides(
      astro_models.get_model_config("AstroCNNModel", "local_global", "tess"), FAST)
  trainer = training.Trainer("AstroCNNModel", config, str(out / "model"))
  trainer.train(str(TRAIN_SLICE), 2, verbose=False)
  members = [prediction.load_member(str(out / "model")) for _ in range(2)]
  model_export.export_members(members, str(out / "ensemble.keras"))
  model_export.export_members(members[:1], str(out / "saved_model"), "saved_model")
  small = flare_config.load_config(overrides={"model": {"d_model": 16, "num_heads": 2,
                                                        "d_ff": 32, "dropout": 0.0}})
  transformer = flare_model.build_model(small["model"])
  transformer.save(str(out / "flare_transformer.keras"))
  foreign = out / "foreign_config"
  foreign.mkdir()
  (foreign / "config.json").write_text(json.dumps({"hparams": {"batch_size": 4}}))
  return {"model_dir": out / "model", "keras": out / "model" / "model.keras",
          "ensemble": out / "ensemble.keras", "saved_model": out / "saved_model",
          "flare": out / "flare_transformer.keras",
          "foreign": foreign}


# --- Flags are checked before anything runs ------------------------------------------

FLAG_CASES = [
    ("astronet/train.py", ["--train_steps=0", "--train_files=x", "--model_dir=m"],
     ["--train_steps=0", "positive"]),
    ("astronet/train.py", ["--distribution=gpus", "--train_files=x", "--model_dir=m"],
     ["--distribution"]),
    ("astronet/train.py", ["--train_files=x"], ["--model_dir"]),
    ("astronet/train.py", ["--no_such_flag=1"], ["no_such_flag"]),
    ("astronet/train_ensemble.py", ["--num_models=0", "--train_files=x", "--model_dir=m"],
     ["--num_models"]),
    ("astronet/train_ensemble.py", ["--inter_op_threads=-1", "--train_files=x",
                                    "--model_dir=m"], ["--inter_op_threads"]),
    ("astronet/data/generate_input_records.py",
     ["--num_train_shards=0", "--input_tce_csv_file=x", "--output_dir=o", "--tess_data_dir=."],
     ["--num_train_shards"]),
    ("astronet/data/generate_input_records.py",
     ["--num_worker_processes=-2", "--input_tce_csv_file=x", "--output_dir=o"],
     ["--num_worker_processes"]),
    ("astronet/batch_predict.py", ["--batch_size=0", "--model_dir=m", "--tfrecord_dir=t"],
     ["--batch_size"]),
    ("astronet/find_incorrect.py", ["--plot_threshold=1.5", "--model_dir=m",
                                    "--tfrecord_dir=t"], ["--plot_threshold"]),
    ("astronet/predict.py", ["--period=-3", "--model_dir=m"], ["--period"]),
    ("astronet/evaluate.py", ["--model_dir=m"], ["--eval_files"]),
    ("astrowavenet/trainer.py", ["--max_length=0", "--train_files=x", "--model_dir=m"],
     ["--max_length"]),
    ("flare_transformer/predict.py", ["--stride=0", "--model=m", "--lightcurve=l",
                                      "--output_csv=o"], ["--stride"]),
    ("flare_transformer/predict.py", ["--threshold=2", "--model=m", "--lightcurve=l",
                                      "--output_csv=o"], ["--threshold"]),
    ("flare_transformer/predict.py", ["--model=m"], ["lightcurve"]),
    ("astromer/classify.py", ["--folds=1", "--data=d", "--output_dir=o"], ["--folds"]),
    ("astromer/classify.py", ["--head=gru", "--data=d", "--output_dir=o"], ["--head"]),
]


@pytest.mark.parametrize("script,args,culprits", FLAG_CASES,
                         ids=["{}:{}".format(c[0].split("/")[-1], c[1][0]) for c in FLAG_CASES])
def test_bad_flags_exit_2_before_anything(script, args, culprits, tmp_path):
  assert_rejected(run(script, *args, cwd=tmp_path), *culprits)
  assert not os.listdir(tmp_path), "a rejected run left files behind"


HELP_CASES = {
    "astronet/batch_predict.py": ["--model_dir", "--average", "--tfrecord_dir", "--batch_size",
                                  "--backend"],
    "astronet/find_incorrect.py": ["--model_dir", "--average", "--plot_threshold"],
    "astronet/train.py": ["--model_dir", "--distribution", "--mixed_precision", "--jit_compile",
                          "--train_steps"],
    "astronet/train_ensemble.py": ["--num_models", "--distribution", "--model_dir",
                                   "--intra_op_threads", "--inter_op_threads"],
    "astronet/transfer/finetune.py": ["--distribution", "--mixed_precision", "--model_dir"],
    "astrowavenet/trainer.py": ["--distribution", "--mixed_precision", "--model_dir"],
    "astronet/evaluate.py": ["--model_dir", "--average", "--output"],
    "astronet/predict.py": ["--model_dir", "--average", "--tic_id"],
    "flare_transformer/train.py": ["--config", "--distribution", "--mixed_precision"],
    "flare_transformer/predict.py": ["--model", "--pretrained", "--lightcurve", "--stride"],
    "flare_transformer/evaluate.py": ["--transformer", "--cnn", "--pretrained", "--stella"],
    "flare_transformer/ship_pretrained.py": ["--name", "--run_dir", "--train_command"],
    "flare_transformer/injection_recovery.py": ["--cv_dir", "--pretrained", "--per_light_curve"],
}


@pytest.mark.parametrize("script", sorted(HELP_CASES))
def test_help_lists_every_flag_without_tensorflow(script):
  proc = subprocess.run([sys.executable, "-X", "importtime", str(ROOT / script), "--help"],
                        env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True,
                        text=True, timeout=120)
  listed = proc.stdout.replace("--[no]", "--")  # absl's notation of boolean flags
  for flag in HELP_CASES[script]:
    assert flag in listed, (flag, proc.stdout[-3000:])
  imported = [l.rsplit("|", 1)[-1].strip() for l in proc.stderr.splitlines()]
  assert "tensorflow" not in imported and "keras" not in imported


# --- Validation before any write -------------------------------------------------------


@pytest.mark.parametrize("overrides,culprits", [
    ('{"hparams": {"batch_size": -3}}', ["hparams.batch_size", "-3"]),
    ('{"hparams": {"learning_rate": "fast"}}', ["hparams.learning_rate", "fast"]),
    ('{"inputs": {"label_map": {"PC": "one"}}}', ["inputs.label_map.PC"]),
    ('not json', ["--config_overrides", "JSON"]),
    ('{"hparams": {"batch_sise": 8}}', ["batch_sise"]),
])
def test_train_rejects_bad_config_before_model_dir(overrides, culprits, tmp_path):
  assert_rejected(run("astronet/train.py", "--train_files=" + str(TRAIN_SLICE),
                      "--model_dir=model", "--config_overrides=" + overrides, cwd=tmp_path),
                  *culprits)
  assert not (tmp_path / "model").exists()


@pytest.mark.parametrize("kind,culprits", [
    ("truncated", ["truncated-00000-of-00001", "record 3 is truncated"]),
    ("corrupt", ["corrupt-00000-of-00001", "record 3"]),
    ("nan", ["nan-00000-of-00001:3", "NaN"]),
    ("label", ["label-00000-of-00001:3", "'XX'", "label map"]),
])
def test_train_rejects_bad_records_before_model_dir(kind, culprits, bad_records, tmp_path):
  # The bad file is the eval set: found before the training steps, not after them.
  assert_rejected(run("astronet/train.py", "--train_files=" + str(TRAIN_SLICE),
                      "--eval_files=" + str(bad_records[kind]), "--model_dir=model",
                      "--config_overrides=" + FAST, cwd=tmp_path), *culprits)
  assert not (tmp_path / "model").exists()


def test_train_refuses_a_model_dir_in_use(tmp_path):
  (tmp_path / "model").mkdir()
  (tmp_path / "model" / atomic_io.LOCK_FILE).write_text(str(os.getpid()))  # alive
  assert_rejected(run("astronet/train.py", "--train_files=" + str(TRAIN_SLICE),
                      "--model_dir=model", "--config_overrides=" + FAST, "--train_steps=1",
                      cwd=tmp_path), "model", "in use by another run", str(os.getpid()))
  assert os.listdir(tmp_path / "model") == [atomic_io.LOCK_FILE]


# --- Every model form, and models of the wrong kind --------------------------------------


def test_evaluate_and_predict_take_every_model_form(models, tmp_path):
  triage = ROOT / "tests" / "data" / "triage"
  predict_args = ["--tess_data_dir=" + str(triage / "lightcurves"), "--tic_id=100000001",
                  "--sector=2", "--period=3.2083", "--t0=1355.474756",
                  "--duration=" + str(3.1 / 24)]
  probabilities = {}
  for form in ("model_dir", "keras", "ensemble", "saved_model"):
    code, out, err = run("astronet/evaluate.py", "--model_dir=" + str(models[form]),
                         "--eval_files=" + str(VAL_SLICE), cwd=tmp_path)
    assert code == 0, err[-2000:]
    assert "num_examples: 160" in out and "auc: " in out, out
    code, out, err = run("astronet/predict.py", "--model_dir=" + str(models[form]),
                         *predict_args, cwd=tmp_path)
    assert code == 0, err[-2000:]
    probabilities[form] = float(out.split("Prediction:")[1])
  # The same weights give the same probability in every form.
  assert probabilities["keras"] == pytest.approx(probabilities["model_dir"], abs=1e-6)
  assert probabilities["ensemble"] == pytest.approx(probabilities["model_dir"], abs=1e-6)
  assert probabilities["saved_model"] == pytest.approx(probabilities["model_dir"], abs=1e-6)
  assert not os.listdir(tmp_path)


def test_evaluate_never_writes_into_the_model_dir(models, tmp_path):
  before = {p: os.path.getmtime(p) for p in glob.glob(str(models["model_dir"] / "*"))}
  user_file = tmp_path / "notes.json"
  user_file.write_text('{"mine": true}')
  assert_rejected(run("astronet/evaluate.py", "--model_dir=" + str(models["model_dir"]),
                      "--eval_files=" + str(VAL_SLICE), "--output=" + str(user_file)),
                  "notes.json", "refusing to overwrite")
  assert user_file.read_text() == '{"mine": true}'
  output = tmp_path / "metrics.json"
  for _ in range(2):  # its own file it may replace
    code, _, err = run("astronet/evaluate.py", "--model_dir=" + str(models["model_dir"]),
                       "--eval_files=" + str(VAL_SLICE), "--output=" + str(output))
    assert code == 0, err[-2000:]
  assert json.loads(output.read_text())["num_examples"] == 160
  after = {p: os.path.getmtime(p) for p in glob.glob(str(models["model_dir"] / "*"))}
  assert after == before


def test_evaluate_leaves_an_original_tf1_dir_untouched(shared_fixtures, tmp_path):
  tf1 = shared_fixtures / "triage" / "astrocnn_ckpt"
  if not tf1.is_dir():
    pytest.skip("no TF1 Triage checkpoint in the shared fixtures")
  before = sorted((p.name, p.stat().st_mtime) for p in tf1.iterdir())
  code, out, err = run("astronet/evaluate.py", "--model_dir=" + str(tf1),
                       "--eval_files=" + str(VAL_SLICE), cwd=tmp_path)
  assert code == 0, err[-2000:]
  assert "accuracy: " in out
  assert sorted((p.name, p.stat().st_mtime) for p in tf1.iterdir()) == before


def test_models_of_the_wrong_kind(models, bad_records, tmp_path):
  assert_rejected(run("astronet/batch_predict.py", "--model_dir=" + str(models["flare"]),
                      "--tfrecord_dir=" + str(TRIAGE_RECORDS), "--tfrecord_pattern=val*",
                      cwd=tmp_path), "flare_transformer.keras", "not an Astronet model")
  assert_rejected(run("flare_transformer/predict.py", "--model=" + str(models["keras"]),
                      "--lightcurve=" + str(TESS_FITS), "--output_csv=flares.csv",
                      cwd=tmp_path), "model.keras", "not a flare model")
  assert_rejected(run("astrowavenet/predict.py", "--model_dir=" + str(models["model_dir"]),
                      "--tfrecord_files=" + str(VAL_SLICE), "--output_dir=out", cwd=tmp_path),
                  "AstroCNNModel", "not an AstroWaveNet")
  assert_rejected(run("astrowavenet/predict.py", "--model_dir=" + str(models["foreign"]),
                      "--tfrecord_files=" + str(VAL_SLICE), "--output_dir=out", cwd=tmp_path),
                  "config.json", "original TF1", "not an AstroWaveNet")
  # Astronet records given to AstroWaveNet: refused before any training step.
  assert_rejected(run("astrowavenet/trainer.py", "--train_files=" + str(TRAIN_SLICE),
                      "--model_dir=wavenet", cwd=tmp_path),
                  "train-slice-00000-of-00001", "not an AstroWaveNet light curve")
  assert not (tmp_path / "wavenet").exists() and not (tmp_path / "flares.csv").exists()


@pytest.mark.parametrize("overrides,culprits", [
    ('{"hparams": {"batch_size": -3}}', ["hparams.batch_size", "-3"]),
    ('{"hparams": {"dilation_rates": []}}', ["hparams.dilation_rates"]),
    ('{"hparams": {"output_distribution": {"type": "poisson"}}}', ["output_distribution.type"]),
])
def test_astrowavenet_rejects_bad_config_before_model_dir(overrides, culprits, tmp_path):
  assert_rejected(run("astrowavenet/trainer.py", "--train_files=" + str(TRAIN_SLICE),
                      "--model_dir=wavenet", "--config_overrides=" + overrides, cwd=tmp_path),
                  *culprits)
  assert not (tmp_path / "wavenet").exists()


def test_astrowavenet_checks_eval_files_before_training(kepler90_files, tmp_path):
  from astrowavenet.data import kepler_light_curves
  cadence_no, time, flux, mask = kepler_light_curves.process_light_curve(kepler90_files[:1])
  example = kepler_light_curves.make_example(11442793, cadence_no, time, flux, mask)
  _write(tmp_path / "train-0", [example.SerializeToString()])
  assert kepler_light_curves.validate_records(str(tmp_path / "train-0")) == 1
  assert_rejected(run("astrowavenet/trainer.py", "--train_files=train-0",
                      "--eval_files=nothing/val-*", "--model_dir=wavenet", cwd=tmp_path),
                  "nothing/val-*")
  assert not (tmp_path / "wavenet").exists()


def test_flare_predict_loads_the_transformer_train_writes(models, tmp_path):
  code, out, err = run("flare_transformer.predict", "--model=" + str(models["flare"]),
                       "--lightcurve=" + str(TESS_FITS), "--output_csv=flares.csv",
                       "--stride=50", cwd=tmp_path, module=True)
  assert code == 0, err[-2000:]
  assert "PositionalEncoding" not in err
  rows = (tmp_path / "flares.csv").read_text().splitlines()
  # The original four columns first, then each flare's measurements; units beside.
  assert rows[0].startswith("start_time,end_time,peak_time,max_probability,amplitude,")
  assert "ed_s" in rows[0] and "energy_erg" in rows[0]
  assert (tmp_path / "flares.json").exists()


def test_flare_predict_bad_light_curves(models, tmp_path):
  broken = tmp_path / "broken_lc.fits"
  broken.write_bytes(TESS_FITS.read_bytes()[:30000])
  assert_rejected(run("flare_transformer/predict.py", "--model=" + str(models["flare"]),
                      "--lightcurve=" + str(broken), "--output_csv=f.csv", cwd=tmp_path),
                  "broken_lc.fits")
  assert_rejected(run("flare_transformer/predict.py", "--model=" + str(models["flare"]),
                      "--lightcurve=nowhere.fits", "--output_csv=f.csv", cwd=tmp_path),
                  "nowhere.fits")
  assert_rejected(run("flare_transformer/predict.py", "--model=" + str(models["flare"]),
                      "--lightcurve=" + str(TESS_FITS), "--output_csv=f.csv",
                      "--flux_column=NO_SUCH_FLUX", cwd=tmp_path), "NO_SUCH_FLUX")
  # A read-only output location fails before the model and light curve are read.
  assert_rejected(run("flare_transformer/predict.py", "--model=" + str(models["flare"]),
                      "--lightcurve=" + str(TESS_FITS),
                      "--output_csv=/proc/astronet_test/f.csv", cwd=tmp_path),
                  "/proc/astronet_test")
  assert not (tmp_path / "f.csv").exists()


def test_batch_predict_skips_nan_records_and_rejects_damaged_files(models, bad_records,
                                                                  tmp_path):
  code, out, err = run("astronet/batch_predict.py", "--model_dir=" + str(models["model_dir"]),
                       "--tfrecord_dir=" + str(bad_records["nan"].parent),
                       "--tfrecord_pattern=nan-*", "--per_tce", cwd=tmp_path)
  assert code == 0, err[-2000:]
  assert "Skipped 1 record(s)" in err and "nan-00000-of-00001:3" in err
  lines = (tmp_path / "prediction_.txt").read_text().splitlines()
  assert len(lines) == 39 and "nan" not in " ".join(lines).lower()
  for kind in ("truncated", "corrupt"):
    assert_rejected(run("astronet/batch_predict.py", "--model_dir=" + str(models["model_dir"]),
                        "--tfrecord_dir=" + str(bad_records[kind].parent),
                        "--tfrecord_pattern={}-*".format(kind), "--suffix=" + kind,
                        cwd=tmp_path), "{}-00000-of-00001".format(kind), "record 3")
    assert not (tmp_path / "prediction_{}.txt".format(kind)).exists()
  assert_rejected(run("astronet/find_incorrect.py", "--model_dir=" + str(models["model_dir"]),
                      "--tfrecord_dir=" + str(bad_records["label"].parent),
                      "--tfrecord_pattern=label-*", cwd=tmp_path), "'XX'", "label map")


def test_export_checks_the_output_before_loading(models, tmp_path):
  assert_rejected(run("astronet/export_model.py", "--model_dir=" + str(models["model_dir"]),
                      "--output=model.onnx", "--format=keras", cwd=tmp_path),
                  "--format=keras", "model.onnx")
  assert not os.listdir(tmp_path)


# --- Flare YAML -----------------------------------------------------------------------


@pytest.mark.parametrize("yaml_text,culprits", [
    ("training:\n  batch_size: many\n", ["training.batch_size", "many"]),
    ("training:\n  batch_sise: 8\n", ["batch_sise"]),
    ("training: [1, 2\n", ["YAML"]),
    ("data:\n  fits_dir: /no/such/dir\n", ["data.fits_dir", "/no/such/dir"]),
])
def test_flare_train_rejects_bad_yaml_before_writing(yaml_text, culprits, tmp_path):
  (tmp_path / "config.yaml").write_text(yaml_text)
  assert_rejected(run("flare_transformer/train.py", "--config=config.yaml", cwd=tmp_path),
                  *culprits)
  assert os.listdir(tmp_path) == ["config.yaml"]


# --- TensorFlow start-up noise --------------------------------------------------------


def test_no_tensorflow_noise_but_full_log_on_request(tmp_path):
  code, out, err = run("astronet/evaluate.py", "--model_dir=nowhere", "--eval_files=x",
                       cwd=tmp_path)
  assert code == 2
  assert err.strip().splitlines() == [
      "evaluate.py: error: Model path nowhere does not exist"], err
  _, _, full = run("astronet/evaluate.py", "--model_dir=nowhere", "--eval_files=x",
                   cwd=tmp_path, env={"ASTRONET_TF_LOG": "1"})
  assert len(full.strip().splitlines()) > 1


def test_noise_filter_keeps_real_warnings():
  assert cli.is_tf_noise("I0000 00:00:17 2351 cpu_feature_guard.cc:227] This TensorFlow ...")
  assert cli.is_tf_noise("E0000 00:00:17 2351 cuda_platform.cc:52] failed call to cuInit: ")
  assert not cli.is_tf_noise("W0000 00:00:17 2351 op_level_cost_estimator.cc] Unknown op")
  assert not cli.is_tf_noise("E0000 00:00:17 2351 ] Out of memory while allocating")


# --- Errors, not tracebacks -----------------------------------------------------------


def test_unexpected_errors_are_one_line_with_exit_1(capsys):
  def buggy(argv):
    raise RuntimeError("something broke\nsecond line")
  with pytest.raises(SystemExit) as exit_info:
    cli.guarded(buggy)([])
  assert exit_info.value.code == 1
  err = capsys.readouterr().err
  assert "internal error (RuntimeError: something broke)" in err and "Traceback" not in err
  assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("exception,status,text", [
    (OSError(28, "No space left on device", "/data/out.tfrecord"), 1, "out of disk space"),
    (PermissionError(13, "Permission denied", "/data/ro"), 2, "/data/ro"),
    (FileNotFoundError(2, "No such file or directory", "x.fits"), 2, "x.fits"),
    (errors.RecordFormatError("f: record 3 is truncated"), 2, "record 3"),
    (ValueError("period must be > 0"), 2, "period"),
])
def test_exception_messages_and_exit_codes(exception, status, text):
  message, code = cli.describe(exception)
  assert code == status and text in message


# --- Kill-safe, disk-safe outputs -----------------------------------------------------


def test_temporary_names_never_match_the_documented_globs(tmp_path):
  for name in ("train-00000-of-00008", "model.keras", "model_1", "chunk_0.record",
               "prediction_x.txt"):
    tmp = atomic_io.temporary_path(str(tmp_path / name))
    open(tmp, "w").close()
    assert tmp.endswith(os.path.splitext(name)[1])  # writers pick formats by suffix
  for pattern in ("train*", "*.keras", "model_*", "chunk_*", "prediction_*", "test-0000*"):
    assert not glob.glob(str(tmp_path / pattern)), pattern


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
  dead = subprocess.Popen([sys.executable, "-c", "pass"])
  dead.wait()
  stale = tmp_path / ".train-00000-of-00001.tmp-{}".format(dead.pid)
  stale.write_text("half a shard")
  live = tmp_path / ".model.keras.tmp-{}.keras".format(os.getpid())
  live.write_text("being written")
  removed = atomic_io.remove_stale_temporaries(str(tmp_path))
  assert removed == [str(stale)] and live.exists()


def test_failed_writes_leave_no_partial_file(tmp_path):
  target = tmp_path / "out.json"
  with pytest.raises(OSError):
    with atomic_io.atomic_open(str(target)) as f:
      f.write("partial")
      raise OSError(28, "No space left on device")
  assert not os.listdir(tmp_path)


def test_lock_is_exclusive_and_dead_locks_are_taken_over(tmp_path):
  with atomic_io.DirectoryLock(str(tmp_path)):
    other = subprocess.run(
        [sys.executable, "-c", "from tf_util import atomic_io; "
         "atomic_io.DirectoryLock({!r}).acquire()".format(str(tmp_path))],
        env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True)
    assert other.returncode != 0 and "in use by another run" in other.stderr
  assert not (tmp_path / atomic_io.LOCK_FILE).exists()
  dead = subprocess.Popen([sys.executable, "-c", "pass"])
  dead.wait()
  (tmp_path / atomic_io.LOCK_FILE).write_text(str(dead.pid))
  with atomic_io.DirectoryLock(str(tmp_path)):
    assert (tmp_path / atomic_io.LOCK_FILE).read_text() == str(os.getpid())


def test_records_resume_keeps_failures_and_refuses_other_inputs(test_data, tmp_path):
  triage = test_data / "triage"
  catalog = tmp_path / "tces.csv"
  shutil.copy(triage / "synthetic_tces.csv", catalog)
  args = ["--input_tce_csv_file=" + str(catalog),
          "--tess_data_dir=" + str(triage / "lightcurves"), "--output_dir=out",
          "--num_worker_processes=1", "--num_train_shards=2"]
  code, _, err = run("astronet/data/generate_input_records.py", *args, cwd=tmp_path)
  assert code == 0, err[-2000:]
  failures = (tmp_path / "out" / "failed_tces.csv").read_text()
  # A kill after the shards but before failed_tces.csv: the resume rebuilds it
  # from the failure lists committed with each shard.
  (tmp_path / "out" / "failed_tces.csv").unlink()
  (tmp_path / "out" / ".train-00000-of-00002.tmp-999999").write_text("killed")
  code, _, err = run("astronet/data/generate_input_records.py", *args, cwd=tmp_path)
  assert code == 0, err[-2000:]
  assert (tmp_path / "out" / "failed_tces.csv").read_text() == failures
  assert not (tmp_path / "out" / ".train-00000-of-00002.tmp-999999").exists()
  # The same output_dir with other flags, or another catalog: refused.
  assert_rejected(run("astronet/data/generate_input_records.py", *args, "--clean",
                      cwd=tmp_path), "out", "--clean", "other inputs")
  catalog.write_text(catalog.read_text().replace("3.2083", "3.2084"))
  assert_rejected(run("astronet/data/generate_input_records.py", *args, cwd=tmp_path),
                  "catalog tces.csv")


def test_flare_window_cache_is_keyed_on_content(tmp_path):
  from flare_transformer import data
  a = tmp_path / "a_lc.fits"
  a.write_bytes(b"0" * 1000)
  key = data.dataset_key([str(a)], [], {"stride": 10})
  a.write_bytes(b"1" * 1000)  # same name, same size, other bytes
  assert data.dataset_key([str(a)], [], {"stride": 10}) != key


def test_absurd_times_in_one_of_several_files(kepler90_files, tmp_path):
  from astropy.io import fits

  from light_curve_util import kepler_io
  copies = []
  for path in kepler90_files:
    copy = tmp_path / os.path.basename(path)
    shutil.copy(path, copy)
    copies.append(str(copy))
  with fits.open(copies[1], mode="update") as hdul:
    hdul["LIGHTCURVE"].data["TIME"][100] = 1e30
  with pytest.raises(errors.LightCurveFileError, match=os.path.basename(copies[1])):
    kepler_io.read_kepler_light_curve(copies)


# --- ASTROMER --------------------------------------------------------------------------


def test_encode_rejects_one_id_for_two_curves():
  from astromer.models import SingleBandEncoder
  encoder = SingleBandEncoder.from_pretraining("macho")
  rng = np.random.default_rng(0)
  curve = lambda: np.stack([np.sort(rng.uniform(0, 100, 50)), rng.normal(size=50),
                            np.full(50, 0.1)], axis=1)
  with pytest.raises(ValueError, match="'star-1'"):
    encoder.encode([curve(), curve(), curve()], oids_list=["star-1", "star-2", "star-1"])


def test_class_labels_cannot_escape_the_output_folder(tmp_path):
  import pandas as pd

  from astromer import records as astromer_records
  meta = pd.DataFrame({"ID": ["a", "b"], "Class": ["RRL", "../../escaped"],
                       "Path": ["a.csv", "b.csv"]})
  with pytest.raises(errors.CatalogError, match="escaped"):
    astromer_records.create_dataset(meta, str(tmp_path), str(tmp_path / "out"))
  assert not (tmp_path / "out").exists() and not (tmp_path.parent / "escaped").exists()


def test_weights_archives_are_bounded_checked_and_safe(tmp_path):
  from astromer import utils
  evil = tmp_path / "evil.zip"
  with zipfile.ZipFile(evil, "w") as z:
    z.writestr("../outside.txt", "x")
  with pytest.raises(errors.CheckpointError, match="unsafe path"):
    utils.safe_extract(str(evil), str(tmp_path / "unpacked"))
  assert not (tmp_path / "outside.txt").exists()
  big = tmp_path / "big.zip"
  with zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("weights/conf.json", "0" * 100000)
  with pytest.raises(errors.CheckpointError, match="would unpack"):
    utils.safe_extract(str(big), str(tmp_path / "unpacked"), max_unpacked_bytes=1000)
  # A local archive through the download path: a checksum mismatch is refused.
  with pytest.raises(errors.CheckpointError, match="does not match"):
    utils.download_weights(big.as_uri(), str(tmp_path / "cache"), sha256="0" * 64)
  assert not (tmp_path / "cache" / "weights").exists()
