"""flare_transformer: data (real TESS windows, labels, injection), config, model, training
outputs and resume, prediction and evaluation metrics."""

import csv
import json
import os
import pathlib
import zipfile

import numpy as np
import pandas as pd
import pytest

from flare_transformer import config as config_lib
from flare_transformer import data
from flare_transformer import metrics
from flare_transformer import model as model_lib
from tf_util import errors

TIC_FILE = "tess2018206045859-s0001-{:016d}-0120-s_lc.fits"


@pytest.fixture(scope="module")
def tess(shared_fixtures):
  return shared_fixtures / "flares" / "tess"


def test_templates_have_the_published_shapes():
  f = data.davenport_template(np.array([-1.0, 0.0, -0.271, 0.642, 4.02]))
  np.testing.assert_allclose(f, [0.00529, 1.0, 0.5, 0.5, 0.1], atol=2e-3)
  assert data.davenport_template(np.array([-1.5]))[0] == 0.0
  np.testing.assert_allclose(data.equivalent_duration(1 / 86400, 1.0), 1.82689, rtol=1e-3)
  g = data.mendoza_template(np.array([-0.003, -0.291, 0.796, 50.0, -5.0]))
  np.testing.assert_allclose(g[:3], [1.0, 0.5, 0.5], atol=2e-3)
  assert np.all(np.isfinite(g)) and g[3] < 1e-3 and g[4] < 1e-6
  np.testing.assert_allclose(data.equivalent_duration(1 / 86400, 1.0, "mendoza"), 2.041 / 0.9502,
                             rtol=2e-3)


def test_injected_flare_conserves_its_equivalent_duration():
  time = 1400.0 + np.arange(300) * data.CADENCE_DAYS
  for template in ("davenport", "mendoza"):
    flux = data.flare_model(time, time[100] + 0.0003, 0.004, 0.05, template)
    ed = flux.sum() * data.CADENCE_DAYS * 86400
    np.testing.assert_allclose(ed, data.equivalent_duration(0.004, 0.05, template), rtol=0.01)
    assert np.argmax(flux) in (100, 101)


def test_real_windows_match_the_reference_labelling(tess, test_data):
  reference = pd.read_csv(test_data / "flares" / "windows100_labels_fixtures.csv")
  catalog = data.read_catalog(str(test_data / "flares" / "guenther2020_flares_fixtures.csv"))
  for tic, rows in reference.groupby("TIC"):
    lc = data.read_light_curve(str(tess / TIC_FILE.format(tic)))
    assert lc.tic == tic and lc.sector == 1
    starts = data.window_starts(len(lc.time))
    assert len(starts) == len(rows)
    np.testing.assert_array_equal(starts, rows["idx_start"])
    np.testing.assert_allclose(lc.time[starts], rows["t_start_btjd"], atol=1e-6)
    counts = data.catalog_counts(lc.time, starts, catalog[tic]["tpeak"])
    np.testing.assert_array_equal(counts, rows["n_catalog_peaks"])
    np.testing.assert_array_equal(counts > 0, rows["label"] == 1)
    x = data.window_features(lc.flux, lc.quality, lc.noise, starts)
    assert x.shape == (len(rows), 100, 3)
    np.testing.assert_array_equal(x[:, :, 2].sum(axis=1), rows["n_quality_nonzero"])
  # AU Mic's flares stand out above its (strong, rotational) variability.
  lc = data.read_light_curve(str(tess / TIC_FILE.format(441420236)))
  x = data.window_features(lc.flux, lc.quality, lc.noise, data.window_starts(len(lc.time)))
  labels = reference[reference.TIC == 441420236]["label"].to_numpy() == 1
  assert np.median(x[labels, :, 0].max(axis=1)) > 2.5 * np.median(x[~labels, :, 0].max(axis=1))


def test_bad_light_curves(tmp_path, tess):
  from astropy.io import fits
  good = fits.open(tess / TIC_FILE.format(358108509))
  table = good[1].data
  columns = [c for c in good[1].columns if c.name != "PDCSAP_FLUX"]
  no_flux = tmp_path / "no_flux.fits"
  fits.HDUList([good[0].copy(), fits.BinTableHDU.from_columns(columns, name="LIGHTCURVE")]
               ).writeto(no_flux)
  with pytest.raises(errors.MissingFieldError, match="PDCSAP_FLUX"):
    data.read_light_curve(str(no_flux))
  flagged = tmp_path / "flagged.fits"
  hdu = fits.BinTableHDU(table.copy(), header=good[1].header, name="LIGHTCURVE")
  hdu.data["QUALITY"] = 1
  fits.HDUList([good[0].copy(), hdu]).writeto(flagged)
  with pytest.raises(errors.EmptyLightCurveError, match="flagged"):
    data.read_light_curve(str(flagged))
  short = tmp_path / "short.fits"
  fits.HDUList([good[0].copy(), fits.BinTableHDU(table[:80].copy(), header=good[1].header,
                                                 name="LIGHTCURVE")]).writeto(short)
  with pytest.raises(errors.EmptyLightCurveError, match="a window needs 100"):
    data.read_light_curve(str(short))
  with pytest.raises(ValueError, match="run past"):
    data.window_features(np.zeros(150), np.zeros(150, bool), 1.0, np.array([0, 60]))
  good.close()


def test_split_by_star_and_cached_dataset(tess, tmp_path):
  tics = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
  split = data.split_stars(tics, (0.8, 0.1, 0.1), seed=42)
  assert split == data.split_stars(list(reversed(tics)), (0.8, 0.1, 0.1), seed=42)
  assert sorted(split.values()).count("train") == 8
  fits_dir = tmp_path / "fits"
  fits_dir.mkdir()
  for tic in (358108509, 32150630, 389363695):
    os.symlink(tess / TIC_FILE.format(tic), fits_dir / TIC_FILE.format(tic))
  catalog = str(tess / "catalog" / "guenther2020_flares_fixtures.csv")
  synthetic = data.SyntheticConfig(per_negative=0.3)
  built = data.load_or_build(str(tmp_path / "processed"), str(fits_dir), [catalog],
                             synthetic=synthetic)
  cached = os.listdir(tmp_path / "processed")
  assert len(cached) == 1
  stars = [set(built[s]["tic"].tolist()) for s in ("train", "val", "test")]
  assert all(len(s) == 1 for s in stars) and len(set.union(*stars)) == 3  # no leakage
  for split_windows in built.values():
    injected = split_windows["synthetic"] == 1
    assert np.all(split_windows["y"][injected] == 1)
    assert np.all(np.isfinite(split_windows["ed"][injected]))
    assert 0.2 < injected.sum() / max((split_windows["y"] == 0).sum(), 1) < 0.4
  again = data.load_or_build(str(tmp_path / "processed"), str(fits_dir), [catalog],
                             synthetic=synthetic)
  np.testing.assert_array_equal(again["train"]["x"], built["train"]["x"])
  data.load_or_build(str(tmp_path / "processed"), str(fits_dir), [catalog], stride=50,
                     synthetic=synthetic)
  assert len(os.listdir(tmp_path / "processed")) == 2  # other settings, another cache


def test_config_validation(tmp_path):
  config = config_lib.load_config()
  assert config["model"]["d_model"] == 256 and config["training"]["class_weights"] == {
      "flare": 1.4, "non_flare": 0.7}
  path = tmp_path / "c.yaml"
  path.write_text("model:\n  d_model: 64\n  num_heads: 4\n")
  assert config_lib.load_config(str(path))["model"]["d_model"] == 64
  for text, message in (("model:\n  d_modle: 64\n", "unknown key 'model.d_modle'"),
                        ("training:\n  batch_size: sixty\n", "training.batch_size must be int"),
                        ("model:\n  d_model: 100\n", "not divisible by model.num_heads 8"),
                        ("data:\n  train_split: 0.9\n", "must be 1"),
                        ("model:\n  input_dim: 2\n", "input_dim must be 3"),
                        ("output: [1, 2]\n", "output must be a mapping")):
    path.write_text(text)
    with pytest.raises(config_lib.ConfigError, match=message.replace("(", r"\(")):
      config_lib.load_config(str(path))


def test_transformer_architecture_and_attention(tmp_path):
  import keras
  model = model_lib.build_transformer()
  # Embedding 4*256; 2 layers of attention 4*(256*256+256) + FFN (256*512+512+512*256+256)
  # + 2 LayerNorms; head 25600*512+512 + 512*128+128 + 128+1.
  layer = 4 * (256 * 256 + 256) + (256 * 512 + 512 + 512 * 256 + 256) + 4 * 256
  expected = 4 * 256 + 2 * layer + (25600 * 512 + 512) + (512 * 128 + 128) + 129
  assert model.count_params() == expected
  small = model_lib.build_transformer(d_model=16, num_heads=2, d_ff=32)
  x = np.random.default_rng(0).normal(size=(3, 100, 3)).astype(np.float32)
  outputs = model_lib.attention_model(small)(x)
  assert outputs["attention_0"].shape == (3, 2, 100, 100)
  np.testing.assert_allclose(np.asarray(outputs["attention_1"]).sum(axis=-1), 1.0, atol=1e-5)
  np.testing.assert_allclose(outputs["probability"], small(x), atol=1e-6)
  small.save(tmp_path / "m.keras")
  np.testing.assert_allclose(keras.models.load_model(tmp_path / "m.keras")(x), small(x),
                             atol=1e-6)
  cnn = model_lib.build_model({"architecture": "cnn", "max_seq_len": 100, "dropout": 0.1,
                               "input_dim": 3})
  assert cnn.count_params() == 7 * 3 * 16 + 16 + 3 * 16 * 64 + 64 + 1600 * 32 + 32 + 33


def test_metrics():
  m = metrics.binary_metrics([1, 1, 0, 0, 1], [0.9, 0.4, 0.6, 0.1, 0.8])
  assert (m["precision"], m["recall"]) == (2 / 3, 2 / 3)
  assert m["roc_auc"] == pytest.approx(5 / 6)
  time = np.arange(20) * 0.01
  p = np.zeros(20)
  p[[3, 4, 5, 9, 15, 16]] = 0.9
  p[7] = np.nan
  found = metrics.intervals(time, p, 0.5, join=3)
  assert [(i["start_time"], i["end_time"]) for i in found] == [(0.03, 0.09), (0.15, 0.16)]
  events = metrics.event_metrics(found, [0.05, 0.12])
  assert (events["recovered"], events["false_or_uncatalogued"]) == (1, 1)
  assert events["recall"] == 0.5 and events["precision"] == 0.5


def small_run_config(tess, tmp_path, num_epochs: int) -> dict:
  """A small transformer on three real stars (linked into tmp_path/fits)."""
  fits_dir = tmp_path / "fits"
  fits_dir.mkdir()
  for tic in (358108509, 32150630, 389363695):
    os.symlink(tess / TIC_FILE.format(tic), fits_dir / TIC_FILE.format(tic))
  catalog = str(tess / "catalog" / "guenther2020_flares_fixtures.csv")
  return config_lib.load_config(overrides={
      "model": {"d_model": 16, "num_heads": 2, "d_ff": 32},
      "training": {"num_epochs": num_epochs, "batch_size": 64},
      "data": {"processed_dir": str(tmp_path / "processed"), "fits_dir": str(fits_dir),
               "catalogs": [catalog], "synthetic": {"per_negative": 0.3}},
      "output": {"results_dir": str(tmp_path / "results")}})


def tiny_model_config_and_windows():
  """A dropout-free tiny transformer config and 128 random windows (30% flares)."""
  config = config_lib.load_config(overrides={"model": {"d_model": 16, "num_heads": 2,
                                                       "d_ff": 32, "dropout": 0.0}})
  rng = np.random.default_rng(0)
  split = {"x": rng.normal(size=(128, 100, 3)).astype(np.float32),
           "y": (rng.random(128) < 0.3).astype(np.int32)}
  return config, split


def test_train_resume_predict_and_evaluate(tess, tmp_path):
  from flare_transformer import detection
  from flare_transformer import evaluation
  from flare_transformer import training
  config = small_run_config(tess, tmp_path, num_epochs=2)
  fits_dir = tmp_path / "fits"
  _, history, run_dir = training.train(config, verbose=0)
  assert [h["epoch"] for h in history] == [1, 2]
  for name in ("checkpoints/best_model.keras", "checkpoints/checkpoint_epoch_2.keras",
               "checkpoints/checkpoint_epoch_2.json", "plots/training_history.png",
               "attention_maps/sample_0_lightcurve.png",
               "attention_maps/sample_0_layer_1_attention.png",
               "attention_maps/sample_0_attention_rollout.png", "config.yaml", "config.json"):
    assert os.path.getsize(os.path.join(run_dir, name)) > 0, name
  summary = json.load(open(os.path.join(run_dir, "config.json")))
  assert set(summary["test_metrics"]) >= {"f1", "precision", "recall", "roc_auc"}
  assert summary["config"]["model"]["d_model"] == 16
  # Resume: continues from the last complete checkpoint with its early-stopping
  # state. Epoch 2's .keras without its .json (a kill between the two) is not
  # complete: training resumes after epoch 1 and redoes epoch 2.
  os.remove(os.path.join(run_dir, "checkpoints", "checkpoint_epoch_2.json"))
  config["training"]["num_epochs"] = 3
  config["output"]["keep_checkpoints"] = 2
  _, history, _ = training.train(config, run_dir, resume=True, verbose=0)
  assert [h["epoch"] for h in history] == [1, 2, 3]
  assert os.path.exists(os.path.join(run_dir, "checkpoints", "checkpoint_epoch_2.json"))
  # Retention: the last keep_checkpoints epochs, and best_model.keras without the
  # optimizer state (only resume needs it).
  kept = sorted(p for p in os.listdir(os.path.join(run_dir, "checkpoints"))
                if p.startswith("checkpoint_epoch_"))
  assert kept == ["checkpoint_epoch_2.json", "checkpoint_epoch_2.keras",
                  "checkpoint_epoch_3.json", "checkpoint_epoch_3.keras"]
  def weight_files(name):
    with zipfile.ZipFile(os.path.join(run_dir, "checkpoints", name)) as archive:
      return archive.read("model.weights.h5")
  assert b"optimizer" in weight_files("checkpoint_epoch_3.keras")
  assert b"optimizer" not in weight_files("best_model.keras")
  # Whole-light-curve prediction: CSV of merged intervals.
  import keras
  model = keras.models.load_model(os.path.join(run_dir, "checkpoints", "best_model.keras"))
  lc = data.read_light_curve(str(fits_dir / TIC_FILE.format(358108509)))
  probability, found = detection.detect(model, lc)
  assert probability.shape == lc.time.shape and np.all(np.isfinite(probability))
  out = tmp_path / "flares.csv"
  detection.write_csv(found, str(out))
  rows = list(csv.DictReader(open(out)))
  assert open(out).readline().strip() == "start_time,end_time,peak_time,max_probability"
  for row in rows:
    assert float(row["start_time"]) <= float(row["peak_time"]) <= float(row["end_time"])
  detection.plot(lc, probability, found, str(tmp_path / "flares.png"))
  results = evaluation.evaluate(config, {"transformer": run_dir})
  assert results["windows"]["transformer"]["all"]["count"] == len(
      training.load_windows(config)["test"]["y"])
  assert 358108509 in results["events"]["transformer"]
  assert "held-out total" in evaluation.markdown(results)


def test_mixed_precision_and_xla_steps():
  import keras

  from flare_transformer import training
  # No dropout: XLA and the plain step draw different dropout masks.
  config, split = tiny_model_config_and_windows()
  weights = {}
  for jit in (False, True):
    keras.utils.set_random_seed(1)
    model = model_lib.build_model(config["model"])
    training.compile_model(model, config["training"], jit_compile=jit)
    model.fit(training.make_dataset(split, 64, config["training"]["class_weights"]), epochs=1,
              verbose=0)
    weights[jit] = [np.asarray(w) for w in model.weights]
  for plain, compiled in zip(*weights.values()):
    np.testing.assert_allclose(compiled, plain, rtol=1e-3, atol=1e-5)
  keras.mixed_precision.set_global_policy("mixed_float16")
  try:
    for architecture in ("transformer", "cnn"):
      model = model_lib.build_model(dict(config["model"], architecture=architecture))
      assert model.layers[1].compute_dtype == "float16"
      assert model.layers[-1].compute_dtype == "float32"  # float32 probabilities and loss
      training.compile_model(model, config["training"])
      history = model.fit(split["x"], split["y"], batch_size=64, epochs=1, verbose=0)
      assert np.isfinite(history.history["loss"][0])
  finally:
    keras.mixed_precision.set_global_policy("float32")


def test_multi_worker_training_with_two_local_workers(tess, tmp_path):
  """Two `flare_transformer.train` processes on localhost (TF_CONFIG): both
  finish, and only worker 0 writes the run directory."""
  import sys

  import yaml

  from tests.conftest import run_local_workers
  config = small_run_config(tess, tmp_path, num_epochs=1)
  (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
  outputs = run_local_workers(
      [sys.executable, "-m", "flare_transformer.train", "--config=config.yaml",
       "--run_dir=run", "--distribution=multi_worker"], cwd=tmp_path)
  for returncode, _, err in outputs:
    assert returncode == 0, err[-3000:]
  run = tmp_path / "run"
  assert sorted(os.listdir(run / "checkpoints")) == [
      "best_model.keras", "checkpoint_epoch_1.json", "checkpoint_epoch_1.keras"]
  assert not (run / ".workers").exists()
  assert json.loads((run / "config.json").read_text())["epochs_run"] == 1


def test_custom_loop_matches_keras_fit():
  """The multi-worker loop trains as model.fit does (weighted loss, optimizer)."""
  import keras
  import tensorflow as tf

  from flare_transformer import training
  config, split = tiny_model_config_and_windows()
  weights = []
  for custom in (False, True):
    keras.utils.set_random_seed(1)
    model = model_lib.build_model(config["model"])
    training.compile_model(model, config["training"])
    dataset = training.make_dataset(split, 64, config["training"]["class_weights"])
    if custom:
      training.fit_custom_loop(model, tf.distribute.get_strategy(), dataset, 2, 0,
                            keras.callbacks.Callback(), verbose=0)
    else:
      model.fit(dataset, epochs=2, verbose=0)
    weights.append([np.asarray(w) for w in model.trainable_weights])
  for fit_weight, loop_weight in zip(*weights):
    np.testing.assert_allclose(loop_weight, fit_weight, rtol=1e-4, atol=1e-6)


def test_evaluate_cli_scores_shipped_models_by_name(tess, tmp_path):
  import subprocess
  import sys

  import yaml
  config = small_run_config(tess, tmp_path, num_epochs=1)
  config_path = tmp_path / "config.yaml"
  config_path.write_text(yaml.safe_dump(config))
  root = pathlib.Path(__file__).resolve().parent.parent
  def run(*flags):
    proc = subprocess.run([sys.executable, "-m", "flare_transformer.evaluate",
                           "--config=" + str(config_path), *flags], capture_output=True,
                          text=True, cwd=root, timeout=600, env=dict(os.environ,
                                                                     PYTHONPATH=str(root)))
    return proc.returncode, proc.stdout, proc.stderr
  code, out, err = run("--pretrained=flare_cnn", "--output_json=" + str(tmp_path / "r.json"))
  assert code == 0, err
  results = json.load(open(tmp_path / "r.json"))
  assert set(results["windows"]) == {"flare_cnn"} and "| flare_cnn |" in out
  assert results["events"]["flare_cnn"]["358108509"]["catalog_flares"] == 4
  code, _, err = run("--pretrained=triage")  # another family: one clear error, exit 2
  assert code == 2 and "astronet family, not of flare_transformer" in err
  assert "Traceback" not in err
