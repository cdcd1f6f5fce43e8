"""Ships a trained flare model with the project: float32 weights without optimizer
state, and a model card with its training run, metrics and reference predictions.

The maintainers' step after `python -m flare_transformer.train` (train on the
training stars, select the epoch on the validation star, report the test star):
see `python -m flare_transformer.ship_pretrained --help`. The registry that names
the shipped files is astronet/pretrained.py.
"""

from __future__ import annotations

import json
import os
import time

import numpy as np

from flare_transformer import config as config_lib
from flare_transformer import data
from flare_transformer import detection
from flare_transformer import model as model_lib
from flare_transformer import training
from tf_util import atomic_io
from tf_util import errors
from tf_util import hashing
from tf_util import model_dir

MODEL_FILE = "model.keras"
CARD_FILE = "card.json"
FEATURES = ("relative flux / noise sigma, minus the window median",
            "its gradient (per cadence)", "QUALITY != 0 (0 / 1)")


def reference_windows(split: dict, count: int = 4) -> np.ndarray:
  """`count` windows of a split, half of them flares when there are (in split order)."""
  flares = np.nonzero(split["y"] == 1)[0][:count // 2]
  quiet = np.nonzero(split["y"] == 0)[0][:count - len(flares)]
  return np.sort(np.concatenate([flares, quiet]))


def read_run(run_dir: str) -> dict:
  """The summary (config.json) of a finished training run.

  Raises:
    CheckpointError: Not a finished run (no config.json or best_model.keras).
  """
  path = os.path.join(run_dir, "config.json")
  if not os.path.isfile(path):
    raise errors.CheckpointError("{} is not a finished flare training run (no config.json; "
                                 "train it to the end, or resume it)".format(run_dir))
  with open(path) as f:
    return json.load(f)


def model_card(run: dict, events: dict | None, name: str, task: str,
               train_command: str) -> dict:
  """The card of a shipped flare model (see module docstring)."""
  config = run["config"]
  history = run["history"]
  best = max(history, key=lambda h: h["val_f1"]) if history else {}
  d = config["data"]
  return {
      "format_version": 1, "name": name, "family": "flare_transformer", "task": task,
      "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
      "architecture": run["architecture"], "parameters": run["parameters"],
      "inputs": {"window": {"shape": [None, config["model"]["max_seq_len"], 3],
                            "dtype": "float32", "features": list(FEATURES)}},
      "output": "flare probability of the window, float32 [batch, 1]",
      "preprocessing": {
          "light_curve": "TESS SPOC {} (rows with finite TIME and flux, flagged cadences "
                         "kept), f / median(f) - 1 in units of the noise sigma (1.4826 MAD of "
                         "the cadence differences / sqrt 2)".format(d["flux_column"]),
          "window_cadences": config["model"]["max_seq_len"],
          "training_window_stride": d["window_stride"],
          "prediction": "windows every --stride (10) cadences, per-cadence mean probability, "
                        "intervals at --threshold (0.5)"},
      "config": {k: config[k] for k in ("model", "training", "data")},
      "training_command": train_command,
      "training": {"seed": config["training"]["seed"], "epochs_run": run["epochs_run"],
                   "best_epoch": best.get("epoch"),
                   "wall_seconds": run.get("train_seconds_this_session"),
                   "light_curves": [os.path.basename(p) for p in data.fits_files(
                       d["fits_dir"])],
                   "excluded_tics": list(d.get("exclude_tics", [])),
                   "catalogs": [os.path.basename(c) for c in d["catalogs"]],
                   "windows": run["windows"]},
      "selection": "the epoch with the best window F1 on the validation star (early stopping, "
                   "patience {}); the test star is reported once".format(
                       config["training"]["early_stopping_patience"]),
      "val_metrics": run.get("val_metrics"), "test_metrics": run.get("test_metrics"),
      # JSON null where a figure is undefined (recall of a star without catalogued flares).
      "events_per_star": {tic: {k: None if isinstance(v, float) and not np.isfinite(v) else v
                                for k, v in m.items()} for tic, m in (events or {}).items()},
      "versions": model_dir.package_versions(),
  }


def ship(run_dir: str, folder: str, name: str, task: str, train_command: str,
         events: dict | None = None) -> dict:
  """Writes folder/model.keras (the run's best epoch, weights only, float32) and
  folder/card.json; returns the registry entry's {"files", "card"} (relative to folder).

  events: {tic: event metrics} of the model on the real stars (flare_transformer.
  evaluation), stored in the card.
  """
  run = read_run(run_dir)
  # Over the defaults: a run of an older version lacks the keys added since.
  run["config"] = config_lib.load_config(overrides=run["config"])
  best = model_lib.load_model(detection.resolve_model_path(run_dir))
  os.makedirs(folder, exist_ok=True)
  model_path = os.path.join(folder, MODEL_FILE)
  training.save_weights_only_model(best, model_path)
  shipped = model_lib.load_model(model_path)
  windows = training.load_windows(run["config"])
  test = windows["test"]
  chosen = reference_windows(test)
  card = model_card(run, events, name, task, train_command)
  card["model_sha256"] = hashing.file_digest(model_path)
  card["reference"] = {
      "tic": [int(t) for t in test["tic"][chosen]], "labels": test["y"][chosen].tolist(),
      "inputs": test["x"][chosen].astype(np.float32).tolist(),
      "probabilities": training.predict_probabilities(shipped, test["x"][chosen]).astype(
          np.float32).tolist()}
  card_path = os.path.join(folder, CARD_FILE)
  atomic_io.write_json(card_path, card)
  return {"files": {MODEL_FILE: card["model_sha256"],
                    CARD_FILE: hashing.file_digest(card_path)}, "card": CARD_FILE}
