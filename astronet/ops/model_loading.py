"""Where an Astronet model is loaded, in every form it comes in.

  load_any(path)      a train.py model_dir, a model_dir / checkpoint of the ORIGINAL
                      TF1 code (imported on the fly by astronet.checkpoint_import), a
                      .keras file (train.py's model.keras, an import, an exported
                      ensemble) or an exported SavedModel directory;
  load_model(path)    (model, model name, config) of a model_dir (ours or TF1);
  load_weights(path)  {TF1 variable name: weight} of any of those forms (warm starts,
                      transfer learning).

Model directories themselves (config.json, checkpoints, training.json) are
tf_util.model_dir. Training imports this module and checkpoint_import, and
neither imports training.
"""

from __future__ import annotations

import json
import os
import zipfile

import keras
import numpy as np
import tensorflow as tf

from astronet import checkpoint_import
from astronet import models
from tf_util import errors
from tf_util import model_dir as model_dir_lib

# Name of the output layer of an exported ensemble (it outputs probabilities).
ENSEMBLE_OUTPUT = "ensemble_probability"


def keras_file_inputs(path: str) -> list[str] | None:
  """Input names of a .keras file's model, read from its config (no loading); None
  if they cannot be told."""
  try:
    with zipfile.ZipFile(path) as archive:
      config = json.loads(archive.read("config.json"))
  except (OSError, KeyError, ValueError, zipfile.BadZipFile):
    return None
  names = []

  def walk(node):
    if isinstance(node, dict):
      if node.get("class_name") == "InputLayer":
        names.append((node.get("config") or {}).get("name") or node.get("name"))
      for value in node.values():
        walk(value)
    elif isinstance(node, list):
      for value in node:
        walk(value)

  walk(config)
  return [n for n in names if n] or None


def check_astronet_inputs(path: str, input_names) -> None:
  """Raises CheckpointError unless a model reads views (global_view / local_view ...)."""
  if not any(name.endswith("_view") for name in input_names):
    raise errors.CheckpointError(
        "{} is not an Astronet model: its inputs are {} (Astronet models read "
        "global_view / local_view)".format(path, sorted(input_names) or "none"))


def load_keras_file(path: str) -> keras.Model:
  inputs = keras_file_inputs(path)
  if inputs is not None:  # Told from the config: no attempt to load another family's layers.
    check_astronet_inputs(path, inputs)
  try:
    return keras.models.load_model(path, compile=False)
  except (ValueError, OSError, TypeError, KeyError, AttributeError) as e:
    # A .keras file of another model family (its layers are not Astronet's)
    # fails here with "Could not locate class ...".
    reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    raise errors.CheckpointError("Cannot load {} as an Astronet Keras model: {}".format(
        path, reason)) from None


class _ServingSignature(keras.layers.Layer):
  """Calls an exported SavedModel's serving signature (keyword inputs) as a Keras layer."""

  def __init__(self, path: str, **kwargs):
    super().__init__(**kwargs)
    self._loaded = tf.saved_model.load(path)
    self._signature = self._loaded.signatures["serving_default"]

  def input_specs(self) -> dict:
    return self._signature.structured_input_signature[1]

  def call(self, inputs):
    outputs = self._signature(**{name: tf.cast(inputs[name], tf.float32)
                                 for name in self.input_specs()})
    return next(iter(outputs.values()))


def load_saved_model(path: str) -> keras.Model:
  """A Keras model around an exported SavedModel (export_model.py --format=saved_model)."""
  try:
    layer = _ServingSignature(path, name="saved_model")
  except (ValueError, OSError, KeyError, tf.errors.OpError) as e:
    raise errors.CheckpointError("Cannot load SavedModel {}: {}".format(
        path, str(e).splitlines()[0] if str(e) else type(e).__name__)) from None
  inputs = {name: keras.Input(shape=tuple(spec.shape[1:]), name=name, dtype="float32")
            for name, spec in sorted(layer.input_specs().items())}
  return keras.Model(inputs, keras.layers.Identity(name=ENSEMBLE_OUTPUT)(layer(inputs)))


def is_saved_model(path: str) -> bool:
  return os.path.isdir(path) and os.path.exists(os.path.join(path, "saved_model.pb"))



def named_inputs(model: keras.Model) -> dict:
  """{input name: KerasTensor} of a functional model, in its input order."""
  return {t.name: t for t in model.inputs}


def load_model(path: str, expected_model: str | None = None):
  """(model, model_name, config) from a model_dir's config.json and latest checkpoint.

  Args:
    path: Directory written by `Trainer`, or by the ORIGINAL TF1 code (its
      checkpoint is imported, see astronet.checkpoint_import).
    expected_model: If given (the scripts' --model), the model class name the
      directory must hold.

  Raises:
    CheckpointError: No config.json, another model class than expected, no
      checkpoint, or a checkpoint that does not fit the config.
  """
  if checkpoint_import.is_tf1_checkpoint(path):
    # A model_dir of the ORIGINAL TF1 code: import its checkpoint on the fly.
    model, name, config, _ = checkpoint_import.import_checkpoint(path)
    if expected_model and expected_model != name:
      raise errors.CheckpointError("{} holds a {}, not a {}".format(path, name, expected_model))
    return model, name, config
  saved = model_dir_lib.read_config(path)
  if saved is None:
    raise errors.CheckpointError("{} has no {}: not a model directory".format(
        path, model_dir_lib.CONFIG_FILE))
  if expected_model and expected_model != saved["model"]:
    raise errors.CheckpointError("{} holds a {}, not a {}".format(
        path, saved["model"], expected_model))
  model = models.build_model(saved["model"], saved["config"])
  checkpoint = tf.train.Checkpoint(model=model)
  if model_dir_lib.restore_latest(checkpoint, path, partial=True,
                                  model_name=saved["model"]) is None:
    raise errors.CheckpointError("No checkpoint in {}".format(path))
  return model, saved["model"], saved["config"]


def load_any(path: str, expected_model: str | None = None) -> tuple[keras.Model, dict | None]:
  """(Keras model, its config or None) from any form (see the module docstring).

  Raises:
    CheckpointError: The path holds no model, a model of another family (no
      global_view / local_view inputs), or one that cannot be loaded.
  """
  if os.path.isfile(path) and path.endswith(".keras"):
    return load_keras_file(path), None
  if is_saved_model(path):
    return load_saved_model(path), None
  if os.path.isfile(path):
    raise errors.CheckpointError(
        "{} is not a model: give a model directory, a .keras file or an exported "
        "SavedModel directory".format(path))
  model, _, config = load_model(path, expected_model)
  return model, config


def load_weights(path: str) -> tuple[dict[str, np.ndarray], "checkpoint_import.TF1Checkpoint | None"]:
  """Weights by TF1 name from a TF1 checkpoint, a .keras file or a train.py model_dir.

  Returns:
    (weights, the TF1Checkpoint if `path` was one else None).

  Raises:
    CheckpointError: Nothing loadable at `path`.
  """
  if os.path.isfile(path) and path.endswith(".keras"):
    try:
      model = keras.models.load_model(path, compile=False)
    except (ValueError, OSError, TypeError) as e:
      raise errors.CheckpointError("Cannot load Keras model {}: {}".format(path, e)) from None
    return checkpoint_import.weights_by_name(model), None
  if checkpoint_import.is_tf1_checkpoint(path):
    checkpoint = checkpoint_import.read_tf1_checkpoint(path)
    return checkpoint.weights, checkpoint
  model, _, _ = load_model(path)
  return checkpoint_import.weights_by_name(model), None
