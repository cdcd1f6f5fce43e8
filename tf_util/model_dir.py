"""The model directory shared by every step-trained model family.

A model directory holds what the original Estimator model_dir held, in TF2
form:

  config.json       {"model": class name, "config": {...}, ...} (CONFIG_FILE)
  ckpt-{step}.*     object-based checkpoints (model, optimizer slots, step)
  checkpoint        the index of those checkpoints
  train/, eval/     TensorBoard summaries
  model.keras       the trained model, written when training ends (MODEL_FILE)
  training.json     one entry per training run: files, steps, seed, wall time,
                    last evaluation (TRAINING_LOG; provenance for model cards)

Astronet's Trainer and EnsembleTrainer (one such directory per member) and
AstroWaveNet write it; the flare transformer's epoch checkpoints and
ASTROMER's original `weights` layout use `save_keras` / `restore_latest`.
Loading a model of a family from it (all forms: model_dir, TF1 checkpoint,
.keras, SavedModel) is the family's loader, e.g.
`astronet.ops.model_loading.load_model`.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
from collections.abc import Mapping

from tf_util import atomic_io
from tf_util import errors

CONFIG_FILE = "config.json"
MODEL_FILE = "model.keras"
TRAINING_LOG = "training.json"


def read_config(model_dir: str) -> dict | None:
  """model_dir/config.json, or None if there is none."""
  path = os.path.join(model_dir, CONFIG_FILE)
  if not os.path.exists(path):
    return None
  try:
    with open(path) as f:
      return json.load(f)
  except (OSError, ValueError) as e:
    raise errors.CheckpointError("{} cannot be read: {}".format(path, e)) from None


def write_config(config: Mapping, model_dir: str) -> None:
  """Writes model_dir/config.json atomically (creating model_dir)."""
  os.makedirs(model_dir, exist_ok=True)
  atomic_io.write_json(os.path.join(model_dir, CONFIG_FILE), config, indent=2,
                       sort_keys=True)


def prepare(model_dir: str, description: Mapping) -> None:
  """Writes config.json = `description`, or checks it equals the one already there.

  Raises:
    CheckpointError: model_dir holds another model (a resume with a different
      config would mix two models' checkpoints).
  """
  wanted = json.loads(json.dumps(description))
  existing = read_config(model_dir)
  if existing is not None and existing != wanted:
    features = existing.get("config", {}).get("inputs", {}).get("features")
    raise errors.CheckpointError(
        "{} already holds a different model ({}{}); use another --model_dir".format(
            model_dir, existing.get("model"),
            " {}".format({"features": features}) if features else ""))
  write_config(wanted, model_dir)


def append_run(model_dir: str, run: Mapping) -> None:
  """Appends a training run to model_dir/training.json."""
  path = os.path.join(model_dir, TRAINING_LOG)
  runs = []
  if os.path.exists(path):
    with open(path) as f:
      runs = json.load(f).get("runs", [])
  atomic_io.write_json(path, {"runs": runs + [dict(run)]})


def checkpoint_step(path: str | None) -> int:
  """The step number of a checkpoint prefix `.../ckpt-{step}` (0 for None)."""
  return int(path.rsplit("-", 1)[1]) if path else 0


def make_checkpoint(directory: str, max_to_keep: int, **objects):
  """(tf.train.Checkpoint of `objects`, its CheckpointManager writing `directory`)."""
  import tensorflow as tf  # noqa: PLC0415  (TensorFlow, kept out of the import of this module)
  checkpoint = tf.train.Checkpoint(**objects)
  return checkpoint, tf.train.CheckpointManager(checkpoint, directory, max_to_keep=max_to_keep)


def restore_latest(checkpoint, directory: str, partial: bool = False,
                   model_name: str = "this model") -> str | None:
  """Restores the latest checkpoint of `directory` into `checkpoint`.

  Args:
    partial: The checkpoint may hold more than `checkpoint` tracks (an
      optimizer when only the model is wanted).

  Returns:
    The restored checkpoint prefix, or None when there is none.

  Raises:
    CheckpointError: A checkpoint whose variables or shapes do not fit.
  """
  import tensorflow as tf  # noqa: PLC0415  (TensorFlow, kept out of the import of this module)
  latest = tf.train.latest_checkpoint(directory)
  if latest is None:
    return None
  return restore(checkpoint, latest, partial, model_name)


def restore(checkpoint, prefix: str, partial: bool = False,
            model_name: str = "this model") -> str:
  """Restores checkpoint `prefix` into `checkpoint` (CheckpointError if it does not fit)."""
  import tensorflow as tf  # noqa: PLC0415  (TensorFlow, kept out of the import of this module)
  try:
    status = checkpoint.restore(prefix)
    if partial:
      status = status.expect_partial()
    status.assert_existing_objects_matched()
  except (AssertionError, ValueError, tf.errors.OpError) as e:
    raise errors.CheckpointError(
        "Checkpoint {} does not fit {}: {}".format(prefix, model_name, e)) from None
  return prefix


def save_keras(model, path: str) -> str:
  """Saves a Keras model to `path` (a .keras file) atomically; returns `path`."""
  # Keras wants the .keras suffix, which atomic_io's hidden temporary name keeps.
  with atomic_io.atomic_path(path) as tmp:
    model.save(tmp)
  return path


def package_versions() -> dict:
  """Versions of this package and of the libraries a saved model depends on (model cards)."""
  import keras  # noqa: PLC0415  (TensorFlow / Keras: only cards need them, not model dirs)
  import numpy as np  # noqa: PLC0415
  import tensorflow as tf  # noqa: PLC0415
  try:
    package = importlib.metadata.version("astronet-tf2")
  except importlib.metadata.PackageNotFoundError:
    package = None
  return {"astronet-tf2": package, "tensorflow": tf.__version__, "keras": keras.__version__,
          "numpy": np.__version__}
