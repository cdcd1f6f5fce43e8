r"""Training of the flare transformer (or the CNN baseline) from a config.

The library behind `python -m flare_transformer.train`, whose docstring lists
the run directory it writes. AdamW (learning_rate, weight_decay), binary
cross-entropy with the class weights, batch_size, at most num_epochs, early
stopping after early_stopping_patience epochs without a better validation F1,
seed; `train(..., resume=True)` continues from the last epoch checkpoint.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from flare_transformer import config as config_lib
from flare_transformer import data
from flare_transformer import metrics
from flare_transformer import model as model_lib
from flare_transformer import plots
from tf_util import atomic_io
from tf_util import distribute
from tf_util import inference
from tf_util import model_dir
from tf_util import training_loop


def load_windows(config: dict) -> dict:
  """The config's processed windows (built and cached on first use)."""
  d = config["data"]
  return data.load_or_build(
      d["processed_dir"], d["fits_dir"], d["catalogs"], stride=d["window_stride"],
      synthetic=data.SyntheticConfig(**d["synthetic"]),
      fractions=(d["train_split"], d["val_split"], d["test_split"]),
      seed=config["training"]["seed"], flux_column=d["flux_column"],
      window=config["model"]["max_seq_len"], exclude_tics=tuple(d["exclude_tics"]))


def make_dataset(split: dict, batch_size: int, class_weights: dict | None = None,
                 shuffle_seed: int | None = None):
  """tf.data of (window, label[, sample weight]) batches, prefetched."""
  y = split["y"].astype(np.float32)[:, None]
  parts = (split["x"], y)
  if class_weights:
    parts += (np.where(split["y"] == 1, class_weights["flare"],
                       class_weights["non_flare"]).astype(np.float32),)
  ds = tf.data.Dataset.from_tensor_slices(parts)
  if shuffle_seed is not None:
    ds = ds.shuffle(len(y), seed=shuffle_seed, reshuffle_each_iteration=True)
  return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def predict_probabilities(model, windows: np.ndarray, batch_size: int = 256) -> np.ndarray:
  """Flare probability [n] of windows [n, 100, 3] (tf_util.inference; valid under every
  strategy, where Keras 3's predict() fails under multi-worker)."""
  return inference.predict_arrays(model, windows, batch_size).reshape(-1)


def fit_custom_loop(model, strategy, dataset, epochs: int, initial_epoch: int,
                    callback: keras.callbacks.Callback, verbose: int = 1) -> None:
  """model.fit's job, with tf_util.training_loop's distributed step and epoch loop.

  Keras 3's fit() does not run under MultiWorkerMirroredStrategy
  (keras-team/keras#20585), so multi-worker training uses this loop: the same
  weighted binary cross-entropy (mean over the global batch), the compiled
  optimizer, and `callback.on_epoch_end` with the epoch's mean loss.
  """

  def batch_loss(batch):
    per_example = keras.losses.binary_crossentropy(batch[1], model(batch[0], training=True))
    if len(batch) > 2:
      per_example = per_example * batch[2]
    return tf.reduce_mean(per_example)

  step = training_loop.make_train_step(batch_loss, lambda: [model.trainable_variables],
                                       [model.optimizer], strategy)

  def on_epoch_end(epoch: int, loss: float) -> bool:
    if verbose:
      logging.info("epoch %d/%d: loss %.4f", epoch + 1, epochs, loss)
    callback.on_epoch_end(epoch, {"loss": loss})
    return bool(getattr(model, "stop_training", False))

  callback.set_model(model)
  training_loop.run_epochs(step, strategy.experimental_distribute_dataset(dataset), epochs,
                           on_epoch_end, initial_epoch)


def _checkpoints(checkpoint_dir: str) -> dict[int, str]:
  """{epoch: .keras path} of the complete epoch checkpoints (.keras with its .json)."""
  found = {}
  for path in glob.glob(os.path.join(checkpoint_dir, "checkpoint_epoch_*.keras")):
    match = re.search(r"checkpoint_epoch_(\d+)\.keras$", path)
    if match and os.path.exists(path[:-len(".keras")] + ".json"):
      found[int(match.group(1))] = path
  return found


class EpochCheckpoint(keras.callbacks.Callback):
  """Validation metrics each epoch, best_model on a better F1 (weights only), epoch
  checkpoints (with the optimizer and early-stopping state that resume needs; the last
  `keep_checkpoints` kept) and early stopping on F1."""

  def __init__(self, val: dict, checkpoint_dir: str, patience: int, state: dict,
               keep_checkpoints: int = 3):
    super().__init__()
    self.val, self.checkpoint_dir, self.patience = val, checkpoint_dir, patience
    self.keep_checkpoints = keep_checkpoints
    self.state = state  # best_f1, wait, history

  def on_epoch_end(self, epoch, logs=None):
    logs = dict(logs or {})
    probs = predict_probabilities(self.model, self.val["x"])
    val_metrics = metrics.binary_metrics(self.val["y"], probs)
    record = {"epoch": epoch + 1, "loss": logs.get("loss"), "accuracy": logs.get("accuracy"),
              "val_loss": metrics.binary_cross_entropy(self.val["y"], probs),
              **{"val_" + k: v for k, v in val_metrics.items()}}
    self.state["history"].append(record)
    improved = val_metrics["f1"] > self.state["best_f1"]
    if improved:
      self.state["best_f1"], self.state["wait"] = val_metrics["f1"], 0
      save_weights_only_model(self.model, os.path.join(self.checkpoint_dir, "best_model.keras"))
    else:
      self.state["wait"] += 1
    path = os.path.join(self.checkpoint_dir, "checkpoint_epoch_{}.keras".format(epoch + 1))
    # The .json first: the .keras rename commits the pair, and resume reads only
    # epochs that have both (a kill between the two writes cannot break it).
    atomic_io.write_json(path[:-len(".keras")] + ".json",
                         {"epoch": epoch + 1, "val_metrics": val_metrics, **self.state})
    model_dir.save_keras(self.model, path)
    found = _checkpoints(self.checkpoint_dir)
    for old in sorted(found)[:-self.keep_checkpoints]:
      for old_path in (found[old], found[old][:-len(".keras")] + ".json"):
        if os.path.exists(old_path):
          os.remove(old_path)
    logging.info("epoch %d: loss %.4f, val F1 %.4f (P %.3f R %.3f AUC %.3f)%s", epoch + 1,
                 record["loss"] or float("nan"), val_metrics["f1"], val_metrics["precision"],
                 val_metrics["recall"], val_metrics["roc_auc"], " best" if improved else "")
    if self.state["wait"] >= self.patience:
      logging.info("early stopping: no better validation F1 for %d epochs", self.patience)
      self.model.stop_training = True


def save_weights_only_model(model, path: str) -> str:
  """Saves `model` as .keras without its optimizer state (a third of an epoch
  checkpoint's size: Adam keeps two slots per weight), atomically."""
  # A model rebuilt from its config is uncompiled (clone_model would share the optimizer).
  bare = keras.Model.from_config(model.get_config())
  bare.set_weights(model.get_weights())
  return model_dir.save_keras(bare, path)


def compile_model(model, training: dict, jit_compile: bool = False) -> None:
  model.compile(optimizer=keras.optimizers.AdamW(training["learning_rate"],
                                                 weight_decay=training["weight_decay"]),
                loss="binary_crossentropy", metrics=["accuracy"], jit_compile=jit_compile)


def train(config: dict, run_dir: str | None = None, resume: bool = False, verbose: int = 1,
          distribution: str | None = None, mixed_precision: bool = False,
          jit_compile: bool = False, windows: dict | None = None):
  """Trains per `config`; returns (best model, history records, run_dir).

  windows: {"train", "val", "test": split} to train on instead of the config's
    own split (cross-validation folds); default load_windows(config).

  distribution: None, "none", "mirrored", "one_device" or "multi_worker"
    (tf_util.distribute; with multi_worker every worker runs this with the
    same run_dir, and the chief writes it);
  mixed_precision: float16 compute, float32 weights and output (GPUs);
  jit_compile: XLA-compiled train step.
  """
  import yaml  # noqa: PLC0415  (PyYAML: only this function needs it)
  # First: a multi-worker strategy must exist before other TF ops run.
  strategy = distribute.make_strategy(distribution)
  chief = distribute.is_chief(strategy)
  if distribution == "multi_worker" and run_dir is None:
    raise config_lib.ConfigError("--distribution=multi_worker needs the same --run_dir "
                                 "(or --resume) on every worker")
  training, output = config["training"], config["output"]
  keras.utils.set_random_seed(training["seed"])
  windows = load_windows(config) if windows is None else windows
  for split in ("train", "val"):
    if not len(windows[split]["y"]):
      raise config_lib.ConfigError("the {} split has no windows (too few stars in {})".format(
          split, config["data"]["fits_dir"]))
  if run_dir is None:
    run_dir = os.path.join(output["results_dir"], time.strftime("%Y%m%d-%H%M%S"))
  shared_run_dir = run_dir
  if not chief:
    # The other workers take part in every save, into a scratch copy, and
    # resume from the chief's checkpoints.
    run_dir = distribute.write_dir(run_dir, strategy)
    if resume and os.path.isdir(os.path.join(shared_run_dir, output["checkpoint_dir"])):
      shutil.rmtree(run_dir, ignore_errors=True)
      shutil.copytree(os.path.join(shared_run_dir, output["checkpoint_dir"]),
                      os.path.join(run_dir, output["checkpoint_dir"]))
  checkpoint_dir = os.path.join(run_dir, output["checkpoint_dir"])
  os.makedirs(checkpoint_dir, exist_ok=True)
  with atomic_io.atomic_open(os.path.join(run_dir, "config.yaml")) as f:
    yaml.safe_dump(config, f, sort_keys=False)
  state = {"best_f1": -1.0, "wait": 0, "history": []}
  initial_epoch = 0
  existing = _checkpoints(checkpoint_dir)
  with training_loop.compute_policy(mixed_precision), strategy.scope():
    if resume and existing:
      initial_epoch = max(existing)
      model = model_lib.load_model(existing[initial_epoch], compile=True)
      with open(existing[initial_epoch][:-len(".keras")] + ".json") as f:
        saved = json.load(f)
      state = {k: saved[k] for k in ("best_f1", "wait", "history")}
      logging.info("resumed %s at epoch %d", run_dir, initial_epoch)
    else:
      model = model_lib.build_model(config["model"])
      compile_model(model, training, jit_compile)
  callback = EpochCheckpoint(windows["val"], checkpoint_dir, training["early_stopping_patience"],
                             state, output["keep_checkpoints"])
  start = time.time()
  if initial_epoch < training["num_epochs"] and state["wait"] < training[
      "early_stopping_patience"]:
    dataset = make_dataset(windows["train"], training["batch_size"],
                           training["class_weights"], training["seed"])
    if distribution == "multi_worker":
      fit_custom_loop(model, strategy, dataset, training["num_epochs"], initial_epoch,
                      callback, verbose)
    else:
      model.fit(dataset, epochs=training["num_epochs"], initial_epoch=initial_epoch,
                callbacks=[callback], verbose=verbose)
  train_seconds = time.time() - start
  if not chief:
    distribute.remove_write_dir(run_dir)
    return model, state["history"], shared_run_dir
  best = model_lib.load_model(os.path.join(checkpoint_dir, "best_model.keras"))
  summary = {"architecture": config["model"]["architecture"],
             "parameters": int(best.count_params()),
             "epochs_run": len(state["history"]), "best_val_f1": state["best_f1"],
             "train_seconds_this_session": train_seconds,
             "windows": {s: {"total": int(len(w["y"])), "flare": int(w["y"].sum()),
                             "stars": sorted(int(t) for t in set(w["tic"]))}
                         for s, w in windows.items()}}
  for split in ("val", "test"):
    if len(windows[split]["y"]):
      probs = predict_probabilities(best, windows[split]["x"])
      summary[split + "_metrics"] = metrics.binary_metrics(windows[split]["y"], probs)
  summary["history"] = state["history"]
  atomic_io.write_json(os.path.join(run_dir, "config.json"), {"config": config, **summary})
  plots.training_history(state["history"], os.path.join(run_dir, output["plots_dir"],
                                                        "training_history.png"))
  if config["model"]["architecture"] == "transformer" and len(windows["test"]["y"]):
    plots.attention_maps(best, windows["test"], os.path.join(run_dir,
                                                             output["attention_maps_dir"]))
  return best, state["history"], run_dir
