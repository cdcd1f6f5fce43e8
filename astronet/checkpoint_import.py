"""Import of checkpoints written by the ORIGINAL TF1 Astronet code into Keras models.

The originals (exoplanet-ml's Astronet, Astronet-Triage) trained with
tf.estimator and saved tf.compat.v1 name-based checkpoints
(`model.ckpt-N.{index,data-*}`) whose variables are named by variable scope:

    global_view_hidden/block_1/conv_1/kernel   [kernel, in, out]  (AstroCNNModel)
    local_view_hidden/fully_connected_1/bias   [size]             (AstroFCModel)
    pre_logits_hidden/fully_connected_1/kernel [in, out]
    logits/kernel, logits/bias
    .../Adam, .../Adam_1, beta1_power, beta2_power, global_step   (optimizer)

Our Keras layers are named after those scopes ("." for "/", see
astro_model.scope_name) and keep the originals' weight layouts (Conv1D kernel
[k, in, out], Dense kernel [in, out], row-major flatten of [length, channels]),
so each TF1 variable has exactly one Keras home and is copied unchanged.

The model config comes from the config.json the originals wrote beside the
checkpoint when present, otherwise it is inferred from the variable shapes
(towers, filters, kernel sizes, hidden layers) plus the mission's view lengths
and pooling, checked against the size of the first dense layer.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import re
from collections.abc import Mapping

import keras
import numpy as np
import tensorflow as tf

from astronet import models
from astronet.astro_model import astro_model
from astronet.astro_model import configurations as base_configurations
from tf_util import errors

logger = logging.getLogger(__name__)

OPTIMIZER_GLOBALS = ("beta1_power", "beta2_power", "global_step")
# Adam slot suffixes of tf.compat.v1.train.AdamOptimizer: m and v.
ADAM_SLOTS = ("Adam", "Adam_1")
# Present in every object-based (TF2) checkpoint, absent from TF1 Saver ones.
OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"


@dataclasses.dataclass
class TF1Checkpoint:
  """Variables of a TF1 checkpoint, split into model weights and optimizer state.

  Attributes:
    prefix: Checkpoint prefix (".../model.ckpt-200").
    weights: {variable name: array} of the model variables.
    slots: {variable name: {"Adam": m, "Adam_1": v}} Adam slots, if saved.
    globals: {"beta1_power"|"beta2_power"|"global_step": value}, if saved.
    saved_config: The config.json beside the checkpoint, or None.
  """
  prefix: str
  weights: dict[str, np.ndarray]
  slots: dict[str, dict[str, np.ndarray]]
  globals: dict[str, np.ndarray]
  saved_config: dict | None = None

  @property
  def global_step(self) -> int | None:
    step = self.globals.get("global_step")
    return None if step is None else int(step)

  def shapes(self) -> dict[str, tuple[int, ...]]:
    return {name: tuple(value.shape) for name, value in self.weights.items()}


def checkpoint_prefix(path: str) -> str:
  """The checkpoint prefix of a model directory or a prefix.

  Raises:
    CheckpointError: No checkpoint there.
  """
  if os.path.isdir(path):
    prefix = tf.train.latest_checkpoint(path)
    if prefix is None:
      # A `checkpoint` index written on another machine may hold absolute paths.
      def step(prefix):
        m = re.search(r"(\d+)$", prefix)
        return int(m.group(1)) if m else -1
      candidates = sorted(
          (p[:-len(".index")] for p in tf.io.gfile.glob(os.path.join(path, "*.index"))),
          key=step)
      prefix = candidates[-1] if candidates else None
    if prefix is None:
      raise errors.CheckpointError("No checkpoint (*.index) in directory {}".format(path))
    return prefix
  if os.path.exists(path + ".index"):
    return path
  raise errors.CheckpointError(
      "{} is neither a directory holding a checkpoint nor a checkpoint prefix "
      "(no {}.index)".format(path, path))


def is_tf1_checkpoint(path: str) -> bool:
  """Whether `path` (dir or prefix) holds a name-based (TF1 Saver) checkpoint."""
  try:
    reader = tf.train.load_checkpoint(checkpoint_prefix(path))
  except (errors.CheckpointError, tf.errors.OpError, ValueError, IndexError):
    return False
  return OBJECT_GRAPH_KEY not in reader.get_variable_to_shape_map()


def _read_saved_config(directory: str) -> dict | None:
  path = os.path.join(directory, "config.json")
  if not os.path.exists(path):
    return None
  with open(path) as f:
    saved = json.load(f)
  # Bare config (the originals) or {"model": ..., "config": {...}}.
  return saved if "inputs" in saved else saved.get("config", saved)


def read_tf1_checkpoint(path: str, use_saved_config: bool = True) -> TF1Checkpoint:
  """Reads every variable of a TF1 checkpoint (directory or prefix).

  Raises:
    CheckpointError: No checkpoint, unreadable/truncated files, or an
      object-based (TF2) checkpoint.
  """
  prefix = checkpoint_prefix(path)
  try:
    reader = tf.train.load_checkpoint(prefix)
    shapes = reader.get_variable_to_shape_map()
    values = {name: reader.get_tensor(name) for name in shapes}
  except (tf.errors.OpError, ValueError, IndexError) as e:
    message = (getattr(e, "message", None) or str(e)).splitlines()[0]
    raise errors.CheckpointError(
        "Cannot read checkpoint {} (truncated or corrupt?): {}".format(prefix, message)) from None
  if OBJECT_GRAPH_KEY in values:
    raise errors.CheckpointError(
        "{} is an object-based TF2 checkpoint (written by this package?), not a "
        "TF1 one: pass its model directory to the scripts directly".format(prefix))
  weights, slots, optimizer_globals = {}, {}, {}
  for name, value in values.items():
    base, _, slot = name.rpartition("/")
    if name in OPTIMIZER_GLOBALS:
      optimizer_globals[name] = value
    elif slot in ADAM_SLOTS and base:
      slots.setdefault(base, {})[slot] = value
    else:
      weights[name] = value
  config = _read_saved_config(os.path.dirname(prefix)) if use_saved_config else None
  return TF1Checkpoint(prefix, weights, slots, optimizer_globals, config)


def _features_of(shapes: Mapping[str, tuple]) -> list[str]:
  return sorted({name.split("/")[0][:-len("_hidden")] for name in shapes
                 if name.split("/")[0].endswith("_hidden")
                 and name.split("/")[0] != "pre_logits_hidden"})


def _cnn_tower(feature: str, shapes: Mapping[str, tuple]) -> dict | None:
  scope = feature + "_hidden/"
  blocks = {}
  for name, shape in shapes.items():
    m = re.fullmatch(re.escape(scope) + r"block_(\d+)/conv_(\d+)/kernel", name)
    if m:
      blocks.setdefault(int(m.group(1)), {})[int(m.group(2))] = shape
  if not blocks:
    return None
  num_blocks, block_size = max(blocks), max(blocks[1])
  first = blocks[1][1]
  filters = [blocks[i][1][2] for i in sorted(blocks)]
  factor = filters[1] / filters[0] if len(filters) > 1 else 2
  return {"cnn_num_blocks": num_blocks, "cnn_block_size": block_size,
          "cnn_initial_num_filters": int(first[2]),
          "cnn_block_filter_factor": int(factor) if float(factor).is_integer() else factor,
          "cnn_kernel_size": int(first[0]), "convolution_padding": "same"}


def _fc_tower(feature: str, shapes: Mapping[str, tuple]) -> dict:
  scope = feature + "_hidden/"
  dense = sorted(int(m.group(1)) for name in shapes
                 for m in [re.fullmatch(re.escape(scope) + r"fully_connected_(\d+)/kernel", name)]
                 if m)
  conv = shapes.get(scope + "conv1d/kernel")
  size = (conv[2] if conv else shapes[scope + "fully_connected_1/kernel"][1]) if (
      conv or dense) else 0
  return {"num_local_layers": len(dense) + (1 if conv else 0), "local_layer_size": int(size),
          "translation_delta": 0, "pooling_type": "max", "dropout_rate": 0.0,
          "_conv_kernel": conv[0] if conv else None}


def infer_config(shapes: Mapping[str, tuple]) -> tuple[str, dict]:
  """(model name, config) of a TF1 Astronet checkpoint from its variable shapes.

  The tower structure comes from the shapes; view lengths and pool sizes are
  not stored in a checkpoint, so each mission's (Kepler, TESS) defaults are
  tried and the one whose concatenated tower output fits the first dense
  layer is kept.

  Raises:
    CheckpointError: No logits layer, or no mission's view lengths fit.
  """
  if "logits/kernel" not in shapes:
    raise errors.CheckpointError(
        "No logits/kernel variable: not an Astronet checkpoint (variables: {}...)".format(
            sorted(shapes)[:8]))
  features = _features_of(shapes)
  dense = sorted(int(m.group(1)) for name in shapes
                 for m in [re.fullmatch(r"pre_logits_hidden/fully_connected_(\d+)/kernel", name)]
                 if m)
  first_dense_in = (shapes["pre_logits_hidden/fully_connected_1/kernel"][0] if dense
                    else shapes["logits/kernel"][0])
  towers = {f: _cnn_tower(f, shapes) for f in features}
  model_name = ("AstroCNNModel" if towers and all(towers.values()) else
                "AstroFCModel" if towers else "AstroModel")
  tried = []
  for mission in base_configurations.MISSIONS:
    config_name = "local_global" if model_name != "AstroModel" else "base"
    config = models.get_model_config(model_name, config_name, mission)
    hparams = config["hparams"]
    hparams["output_dim"] = int(shapes["logits/kernel"][1])
    hparams["num_pre_logits_hidden_layers"] = len(dense)
    hparams["pre_logits_hidden_layer_size"] = (
        int(shapes["pre_logits_hidden/fully_connected_1/kernel"][1]) if dense else 0)
    if model_name == "AstroModel":
      config["inputs"]["features"] = {"global_view": config["inputs"]["features"]["global_view"]}
    else:
      if set(features) - set(config["inputs"]["features"]):
        tried.append("{}: no view {}".format(mission, sorted(features)))
        continue
      config["inputs"]["features"] = {f: config["inputs"]["features"][f] for f in features}
      for f in features:
        if model_name == "AstroCNNModel":
          hparams["time_series_hidden"][f].update(towers[f])
        else:
          tower = _fc_tower(f, shapes)
          conv_kernel = tower.pop("_conv_kernel")
          if conv_kernel:
            length = config["inputs"]["features"][f]["length"]
            tower["translation_delta"] = (length - conv_kernel) // 2
          hparams["time_series_hidden"][f].update(tower)
    model = models.build_model(model_name, config)
    concat = model.get_layer("pre_logits_concat") if len(features) > 1 else None
    size = (int(concat.output.shape[-1]) if concat is not None else
            int(model.get_layer("logits").input.shape[-1]) if not dense else
            int(model.get_layer("pre_logits_hidden.fully_connected_1").input.shape[-1]))
    if size == first_dense_in:
      return model_name, config
    tried.append("{} views give {} features".format(mission, size))
  raise errors.CheckpointError(
      "Cannot infer the view lengths: the first dense layer takes {} inputs but {}; "
      "pass the original config (--config_json)".format(first_dense_in, "; ".join(tried)))


def config_from_original(model_name: str, original: Mapping) -> dict:
  """Our config of `model_name` with the values of an original config.json.

  Keys our configs do not know (e.g. the Triage's learning_rate_decay_factor)
  are dropped; the mission follows from the global_view length.
  """
  lengths = {f: spec["length"] for f, spec in original["inputs"]["features"].items()}
  mission = "tess" if lengths.get("global_view") == base_configurations.VIEW_LENGTHS["tess"][0] \
      else "kepler"
  config_name = "base" if model_name == "AstroModel" else "local_global"
  config = models.get_model_config(model_name, config_name, mission)
  config["inputs"]["features"] = {
      f: {"length": int(spec["length"]), "is_time_series": bool(spec.get("is_time_series", True))}
      for f, spec in original["inputs"]["features"].items()}
  for key in ("label_feature", "label_map"):
    if key in original["inputs"]:
      config["inputs"][key] = original["inputs"][key]
  dropped = []
  for key, value in original.get("hparams", {}).items():
    if key in config["hparams"]:
      config["hparams"][key] = value
    else:
      dropped.append(key)
  if dropped:
    logger.info("Original hparams not used by the Keras port: %s", sorted(dropped))
  return config


def keras_weight_names(model: keras.Model) -> dict[str, keras.Variable]:
  """{TF1 variable name: Keras variable} of every weight of the model."""
  names = {}
  for layer in model.layers:
    # A layer may name its TF1 variables itself (e.g. unscoped variables).
    own = getattr(layer, "tf1_names", {})
    for weight in layer.weights:
      short = weight.path.split("/")[-1]
      names[own.get(short) or astro_model.tf1_scope(layer.name) + "/" + short] = weight
  return names


def assign_weights(model: keras.Model, weights: Mapping[str, np.ndarray],
                   source: str) -> None:
  """Copies {TF1 variable name: array} into the model's variables.

  Args:
    model: Keras Astronet model.
    weights: Values by TF1 variable name (a TF1Checkpoint's `weights`, or
      `weights_by_name` of another Keras model).
    source: Where the weights come from, for messages.

  Raises:
    CheckpointError: Listing every variable the model needs but `weights`
      lacks, every variable of `weights` the model has no home for, and every
      shape mismatch, in one message.
  """
  targets = keras_weight_names(model)
  missing = sorted(set(targets) - set(weights))
  unused = sorted(set(weights) - set(targets))
  misshaped = sorted(
      "{} (checkpoint {}, model {})".format(name, list(np.shape(weights[name])),
                                           list(targets[name].shape))
      for name in set(targets) & set(weights)
      if tuple(np.shape(weights[name])) != tuple(targets[name].shape))
  if missing or unused or misshaped:
    parts = []
    if missing:
      parts.append("missing from the checkpoint: " + ", ".join(missing))
    if unused:
      parts.append("not in the model: " + ", ".join(unused))
    if misshaped:
      parts.append("wrong shape: " + ", ".join(misshaped))
    raise errors.CheckpointError("{} does not fit {}: {}".format(
        source, model.name, "; ".join(parts)))
  for name, variable in targets.items():
    variable.assign(np.asarray(weights[name]).astype(variable.dtype))


def weights_by_name(model: keras.Model) -> dict[str, np.ndarray]:
  """{TF1 variable name: value} of a Keras Astronet model."""
  return {name: np.asarray(v) for name, v in keras_weight_names(model).items()}


def adam_iterations(checkpoint: TF1Checkpoint, beta_1: float = 0.9) -> int:
  """Number of Adam updates of a TF1 AdamOptimizer (beta1_power = beta1**(t+1))."""
  if "beta1_power" in checkpoint.globals:
    power = float(checkpoint.globals["beta1_power"])
    return max(int(round(math.log(power) / math.log(beta_1))) - 1, 0)
  if checkpoint.global_step is not None:
    return checkpoint.global_step
  raise errors.CheckpointError("{} has neither beta1_power nor global_step".format(
      checkpoint.prefix))


def restore_adam_state(optimizer: keras.optimizers.Optimizer, model: keras.Model,
                       checkpoint: TF1Checkpoint) -> int:
  """Loads the TF1 Adam slots (m = "Adam", v = "Adam_1") and step count into a Keras Adam.

  TF1's and Keras 3's Adam apply the same update
  (lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)), so with these
  moments and `iterations` the next step continues the original training.

  Returns:
    The number of Adam iterations restored.

  Raises:
    CheckpointError: The checkpoint has no Adam slots for some variable.
  """
  targets = keras_weight_names(model)
  lacking = sorted(name for name in targets if set(checkpoint.slots.get(name, {})) != set(ADAM_SLOTS))
  if lacking:
    raise errors.CheckpointError(
        "{} has no Adam slots (Adam, Adam_1) for: {} (a checkpoint stripped of its "
        "optimizer state cannot --restore_optimizer)".format(
            checkpoint.prefix, ", ".join(lacking[:5]) + (" ..." if len(lacking) > 5 else "")))
  # A LossScaleOptimizer (mixed precision) keeps the Adam state in its inner optimizer.
  optimizer = getattr(optimizer, "inner_optimizer", optimizer)
  trainable = model.trainable_variables
  optimizer.build(trainable)
  by_id = {id(v): name for name, v in targets.items()}
  for variable in trainable:
    index = optimizer._get_variable_index(variable)  # pylint: disable=protected-access
    slots = checkpoint.slots[by_id[id(variable)]]
    optimizer._momentums[index].assign(slots["Adam"])  # pylint: disable=protected-access
    optimizer._velocities[index].assign(slots["Adam_1"])  # pylint: disable=protected-access
  iterations = adam_iterations(checkpoint, float(optimizer.beta_1))
  optimizer.iterations.assign(iterations)
  return iterations


def import_checkpoint(path: str, config: Mapping | None = None,
                      model_name: str | None = None,
                      use_saved_config: bool = True):
  """(Keras model, model name, config, TF1Checkpoint) of an original checkpoint.

  Args:
    path: Model directory or checkpoint prefix written by the original code.
    config: Config to build (an original config.json's dict is accepted);
      default: the saved config.json beside the checkpoint, else inferred.
    model_name: Model class; default inferred from the variables.
    use_saved_config: Read config.json beside the checkpoint when present.

  Raises:
    CheckpointError: Unreadable checkpoint, or one that does not fit the model.
  """
  checkpoint = read_tf1_checkpoint(path, use_saved_config)
  inferred_name, inferred_config = infer_config(checkpoint.shapes())
  model_name = model_name or inferred_name
  original = config if config is not None else checkpoint.saved_config
  if original is not None:
    if "config" in original and "inputs" not in original:
      original = original["config"]
    config = config_from_original(model_name, original)
  else:
    config = inferred_config
  try:
    model = models.build_model(model_name, config)
  except (KeyError, ValueError) as e:
    raise errors.CheckpointError("Cannot build {} from the config of {}: {}".format(
        model_name, checkpoint.prefix, e)) from None
  assign_weights(model, checkpoint.weights, "Checkpoint " + checkpoint.prefix)
  logger.info("Imported %d variables of %s (global step %s) into %s", len(checkpoint.weights),
              checkpoint.prefix, checkpoint.global_step, model_name)
  return model, model_name, config, checkpoint
