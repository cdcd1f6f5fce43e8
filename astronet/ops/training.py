"""Training, checkpointing and evaluation of Astronet Keras models.

A model directory holds what the original Estimator model_dir held, in TF2
form: `config.json` ({"model": name, "config": {...}}), object-based
checkpoints `ckpt-{step}` (model, Adam slots, step) with a `checkpoint`
index, TensorBoard summaries (`train/`, `eval/`) and, when training ends,
`model.keras`. Training resumes from the latest checkpoint after an
interruption.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import weakref
from collections.abc import Mapping

import keras
import numpy as np
import tensorflow as tf

from astronet import models
from astronet.astro_model import configurations as base_configurations
from astronet.ops import dataset_ops
from astronet.ops import metrics
from astronet.util import config_util
from tf_util import atomic_io
from tf_util import distribute
from tf_util import errors
from tf_util import metrics as shared_metrics
from tf_util.distribute import DISTRIBUTIONS  # noqa: F401  (re-exported)
from tf_util.distribute import make_strategy  # noqa: F401  (re-exported)

logger = logging.getLogger(__name__)

MODEL_FILE = "model.keras"
TRAINING_LOG = "training.json"


def feature_lengths(config: Mapping) -> dict[str, int]:
  """{feature name: length} of the config's input features."""
  return {name: int(spec["length"])
          for name, spec in config["inputs"]["features"].items()}


def infer_mission(file_pattern: str) -> str:
  """"kepler" or "tess" from the global_view length of the first record."""
  filename = dataset_ops.expand_file_pattern(file_pattern)[0]
  for record in tf.data.TFRecordDataset(filename).take(1):
    example = tf.train.Example.FromString(record.numpy())
    feature = example.features.feature.get("global_view")
    length = len(feature.float_list.value) if feature is not None else None
    for mission, (global_length, _) in base_configurations.VIEW_LENGTHS.items():
      if length == global_length:
        return mission
    raise errors.RecordFormatError(
        "Cannot tell the mission of {}: global_view has {} values (Kepler 2001, "
        "TESS 201); pass --mission".format(filename, length))
  raise errors.RecordFormatError("{} holds no records".format(filename))


def training_config(model_name: str, config_name: str, mission: str | None,
                    train_files: str, overrides: str | Mapping | None = None) -> dict:
  """The config of a training run: the model's named config, the mission's view
  lengths (inferred from the records if `mission` is None), then `overrides`.

  Raises:
    ConfigError: Unknown model / config name, bad overrides, or values of the
      wrong type or range.
    LightCurveFileError / RecordFormatError: `train_files` match nothing or
      cannot be read.
  """
  mission = mission or infer_mission(train_files)
  try:
    config = models.get_model_config(model_name, config_name, mission)
  except (KeyError, ValueError) as e:
    raise errors.ConfigError(str(e.args[0]) if e.args else str(e)) from None
  config = config_util.apply_overrides(config, overrides)
  config_util.validate_config(config)
  return config


def check_training_inputs(config: Mapping, train_files: str,
                          eval_files: str | None = None) -> int:
  """Reads every training and evaluation record once before a model_dir is written.

  Returns:
    The number of training records.

  Raises:
    LightCurveFileError: A pattern matches no file.
    RecordFormatError: A truncated or corrupt record, NaN / inf views,
      labels outside the config's label map (see dataset_ops.validate_records).
  """
  inputs = config["inputs"]
  counts = {}
  for name, pattern in (("train", train_files), ("eval", eval_files)):
    if pattern:
      counts[name] = dataset_ops.validate_records(
          dataset_ops.expand_file_pattern(pattern), feature_lengths(config),
          inputs["label_feature"], inputs["label_map"])
  if not counts.get("train"):
    raise errors.RecordFormatError("The training files {} hold no records".format(train_files))
  return counts["train"]


def make_dataset(config: Mapping, file_pattern: str, training: bool,
                 batch_size: int | None = None, shuffle_buffer_size: int = 15000,
                 seed: int | None = None, include_labels: bool = True) -> tf.data.Dataset:
  """The input pipeline of the originals: reversal (p = 0.5) and shuffling when training."""
  inputs = config["inputs"]
  return dataset_ops.build_dataset(
      file_pattern, feature_lengths(config),
      batch_size=batch_size or int(config["hparams"]["batch_size"]),
      label_feature=inputs["label_feature"], label_map=inputs["label_map"],
      include_labels=include_labels,
      reverse_time_series_prob=0.5 if training else 0.0,
      shuffle_filenames=training,
      shuffle_values_buffer=shuffle_buffer_size if training else 0,
      repeat=None if training else 1, seed=seed)


def make_optimizer(hparams: Mapping) -> keras.optimizers.Optimizer:
  """Adam with the originals' epsilon (1e-8) and optional clipping/decay."""
  if hparams.get("optimizer", "adam").lower() != "adam":
    raise ValueError("Only the Adam optimizer is supported, got {!r}".format(
        hparams["optimizer"]))
  learning_rate = float(hparams["learning_rate"])
  if hparams.get("learning_rate_decay_steps"):
    learning_rate = keras.optimizers.schedules.PolynomialDecay(
        learning_rate, int(hparams["learning_rate_decay_steps"]),
        end_learning_rate=learning_rate * float(hparams.get("learning_rate_end_factor", 0)),
        power=float(hparams.get("learning_rate_decay_power", 1.0)))
  kwargs = {}
  if hparams.get("clip_gradient_norm"):
    kwargs["global_clipnorm"] = float(hparams["clip_gradient_norm"])
  if hparams.get("weight_decay"):
    return keras.optimizers.AdamW(learning_rate, weight_decay=float(hparams["weight_decay"]),
                                  epsilon=1e-8, **kwargs)
  return keras.optimizers.Adam(learning_rate, epsilon=1e-8, **kwargs)


def loss_fn(labels, logits, label_smoothing: float = 0.0):
  """Mean cross-entropy of logits [batch, output_dim].

  output_dim 1: sigmoid against 0/1 labels [batch] (the originals' binary
  case); labels [batch] of class ids with output_dim > 1: softmax (the
  originals' multi-class case); float labels [batch, output_dim]: independent
  sigmoids (multi-label).
  """
  logits = tf.cast(logits, tf.float32)
  if logits.shape[-1] != 1 and labels.shape.rank == 1:
    num_classes = logits.shape[-1]
    targets = tf.one_hot(tf.cast(labels, tf.int32), num_classes)
    if label_smoothing:
      targets = targets * (1 - label_smoothing) + label_smoothing / num_classes
    return tf.reduce_mean(
        tf.nn.softmax_cross_entropy_with_logits(labels=targets, logits=logits))
  labels = tf.cast(labels, tf.float32)
  if labels.shape.rank == 1:
    labels, logits = tf.reshape(labels, [-1]), tf.reshape(logits, [-1])
  if label_smoothing:
    labels = labels * (1 - label_smoothing) + 0.5 * label_smoothing
  return tf.reduce_mean(
      tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))




def prepare_model_dir(model_dir: str, model_name: str, config: Mapping) -> None:
  """Writes config.json, or checks it equals the one already there."""
  existing = config_util.read_config(model_dir)
  wanted = {"model": model_name, "config": json.loads(json.dumps(config))}
  if existing is not None and existing != wanted:
    raise errors.CheckpointError(
        "{} already holds a different model ({} {}); use another --model_dir".format(
            model_dir, existing.get("model"),
            {k: v for k, v in existing.get("config", {}).get("inputs", {}).items()
             if k == "features"}))
  config_util.write_config(wanted, model_dir)


class Trainer:
  """Step-based training of one model with checkpoints, summaries and resume."""

  def __init__(self, model_name: str, config: Mapping, model_dir: str,
               keep_checkpoint_max: int = 5, distribution: str | None = None,
               mixed_precision: bool = False, jit_compile: bool = False):
    """Builds (or resumes) the model of `config` in `model_dir`.

    Args:
      distribution: None or "none" (default device), "mirrored"
        (tf.distribute.MirroredStrategy over the local GPUs; one device on
        CPU), "one_device", or "multi_worker" (the workers of TF_CONFIG; the
        chief writes model_dir, see tf_util.distribute).
      mixed_precision: Compute in float16 with float32 weights and a float32
        output layer (Keras "mixed_float16"), with dynamic loss scaling.
      jit_compile: Compile each replica's train step with XLA.
    """
    self.model_name = model_name
    self.config = config
    self.model_dir = model_dir
    self.strategy = make_strategy(distribution)
    self.is_chief = distribute.is_chief(self.strategy)
    # Non-chief workers of a multi-worker run save into a scratch folder.
    self.write_dir = distribute.write_dir(model_dir, self.strategy)
    if self.is_chief:
      prepare_model_dir(model_dir, model_name, config)
    self.mixed_precision = mixed_precision
    self.jit_compile = jit_compile
    if mixed_precision:
      keras.mixed_precision.set_global_policy("mixed_float16")
    try:
      with self.strategy.scope():
        self.model = self.build_model()
        self.optimizer = make_optimizer(config["hparams"])
        if mixed_precision:
          self.optimizer = keras.optimizers.LossScaleOptimizer(self.optimizer)
        # Built on every weight, so that freezing and unfreezing layers later
        # (transfer learning) trains subsets of variables the optimizer knows.
        self.optimizer.build(self.model.trainable_variables)
        self.step = tf.Variable(0, dtype=tf.int64, name="global_step",
                                aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
    finally:
      if mixed_precision:
        keras.mixed_precision.set_global_policy("float32")
    self._step_fn = None
    # The Adam state proper (not a mixed-precision wrapper), so that checkpoints
    # move between float32 and mixed-precision runs; the loss scale restarts.
    self.checkpoint = tf.train.Checkpoint(
        model=self.model, optimizer=getattr(self.optimizer, "inner_optimizer", self.optimizer),
        global_step=self.step)
    self.manager = tf.train.CheckpointManager(self.checkpoint, self.write_dir,
                                              max_to_keep=keep_checkpoint_max)
    self._restore()
    self._label_smoothing = float(config["hparams"].get("label_smoothing", 0.0))

  def _restore(self):
    # Every worker resumes from the chief's checkpoints in model_dir.
    latest = tf.train.latest_checkpoint(self.model_dir)
    if latest is None:
      return
    try:
      self.checkpoint.restore(latest).assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as e:
      raise errors.CheckpointError(
          "Checkpoint {} does not fit this model: {}".format(latest, e)) from None
    logger.info("Resumed from %s at step %d", latest, int(self.step.numpy()))

  def warm_start(self, path: str, restore_optimizer: bool = False) -> bool:
    """Initialises the weights from another model if model_dir has no checkpoint.

    Args:
      path: A checkpoint of the ORIGINAL TF1 code (directory or prefix), a
        .keras file, or a train.py model_dir, of the same architecture.
      restore_optimizer: Also take the TF1 checkpoint's Adam moments and step
        count, so training continues the original run.

    Returns:
      Whether the weights were loaded (False: model_dir already had a
      checkpoint, and training resumes from it instead).

    Raises:
      CheckpointError: `path` does not fit the model, or has no Adam state
        for `restore_optimizer`.
    """
    from astronet import checkpoint_import  # pylint: disable=import-outside-toplevel
    if tf.train.latest_checkpoint(self.model_dir) is not None:
      logger.info("%s has a checkpoint; resuming it instead of warm-starting from %s",
                  self.model_dir, path)
      return False
    weights, tf1_checkpoint = checkpoint_import.load_weights(path)
    checkpoint_import.assign_weights(self.model, weights, path)
    if restore_optimizer:
      if tf1_checkpoint is None:
        raise errors.CheckpointError(
            "--restore_optimizer needs a TF1 checkpoint with Adam slots; {} is not one".format(path))
      iterations = checkpoint_import.restore_adam_state(self.optimizer, self.model,
                                                        tf1_checkpoint)
      step = tf1_checkpoint.global_step
      self.step.assign(iterations if step is None else step)
    # Saved at once, so that a restart resumes here rather than warm-starting again.
    self.manager.save(checkpoint_number=int(self.step.numpy()))
    logger.info("Warm-started from %s at step %d", path, int(self.step.numpy()))
    return True

  def refresh_trainable(self) -> None:
    """Re-traces the train step after layers were frozen or unfrozen."""
    self._step_fn = None

  # The parts a trainer of another model family (astrowavenet) overrides.
  def build_model(self) -> keras.Model:
    """The Keras model of self.config (called under the strategy's scope)."""
    return models.build_model(self.model_name, dict(self.config))

  def batch_loss(self, batch, training: bool = True):
    """Scalar mean loss of one batch of the training dataset."""
    features, labels = batch
    logits = self.model(features, training=training)
    return loss_fn(labels, logits, self._label_smoothing)

  def train_dataset(self, train_files: str, shuffle_buffer_size: int,
                    seed: int | None) -> tf.data.Dataset:
    """The repeating, shuffled training input pipeline."""
    return make_dataset(self.config, train_files, True,
                        shuffle_buffer_size=shuffle_buffer_size, seed=seed)

  def eval_metrics(self, eval_files: str) -> dict:
    """Metrics of the current model on `eval_files`."""
    return evaluate(self.model, self.config, eval_files)

  def _train_step(self, batch):
    if self._step_fn is None:
      variables = self.model.trainable_variables
      if not variables:
        raise ValueError("Every layer of the model is frozen: nothing to train")

      strategy = self.strategy
      replicas = strategy.num_replicas_in_sync

      def replica_step(batch):
        with tf.GradientTape() as tape:
          # Each replica's mean, summed over replicas below: the global mean.
          loss = self.batch_loss(batch) / replicas
          scaled = self.optimizer.scale_loss(loss) if self.mixed_precision else loss
        grads = tape.gradient(scaled, variables)
        self.optimizer.apply_gradients(zip(grads, variables))
        self.step.assign_add(1)
        return loss

      if self.jit_compile:
        replica_step = tf.function(replica_step, jit_compile=True)

      @tf.function(reduce_retracing=True)
      def step(batch):
        per_replica = strategy.run(replica_step, args=(batch,))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

      self._step_fn = step
    return self._step_fn(batch)

  def train(self, train_files: str, train_steps: int, eval_files: str | None = None,
            eval_every_steps: int = 1000, save_every_steps: int = 1000,
            shuffle_buffer_size: int = 15000, seed: int | None = None,
            verbose: bool = True, log_every_steps: int = 100) -> dict:
    """Trains until `train_steps`; returns the last eval metrics (or {})."""
    start_step = int(self.step.numpy())
    if start_step >= train_steps:
      logger.info("Already trained to step %d >= %d", start_step, train_steps)
    # A resumed run gets a different shuffle/reversal stream.
    data_seed = None if seed is None else seed + start_step
    dataset = self.train_dataset(train_files, shuffle_buffer_size, data_seed)
    writer = tf.summary.create_file_writer(os.path.join(self.write_dir, "train"))
    # A progress bar on a terminal; in a log file (ensemble_train.sh, CI) a
    # line every log_every_steps instead of one rewrite per step.
    interactive = verbose and sys.stdout.isatty()
    progbar = keras.utils.Progbar(train_steps, stateful_metrics=["loss"],
                                  verbose=1 if interactive else 0)
    progbar.update(start_step)
    last_eval, t_start = {}, time.time()
    iterator = iter(self.strategy.experimental_distribute_dataset(dataset))
    while int(self.step.numpy()) < train_steps:
      loss = float(self._train_step(next(iterator)))
      step = int(self.step.numpy())
      if not np.isfinite(loss):
        raise FloatingPointError("Training loss is {} at step {}".format(loss, step))
      progbar.update(step, [("loss", loss)])
      if verbose and not interactive and (step % log_every_steps == 0 or step == train_steps):
        logger.info("step %d/%d: loss %.4f (%.1f steps/s)", step, train_steps, loss,
                    (step - start_step) / max(time.time() - t_start, 1e-9))
      with writer.as_default(step=step):
        tf.summary.scalar("loss", loss)
      if step % save_every_steps == 0 or step == train_steps:
        self.manager.save(checkpoint_number=step)
      if eval_files and self.is_chief and (step % eval_every_steps == 0 or
                                           step == train_steps):
        last_eval = self.evaluate(eval_files)
        logger.info("step %d: %s", step, format_metrics(last_eval))
    writer.flush()
    if not self.is_chief:
      # This worker's copies of the checkpoints were only needed for saving.
      distribute.remove_write_dir(self.write_dir)
      return last_eval
    self.save_keras_model()
    logger.info("Trained %d steps in %.1f s", int(self.step.numpy()) - start_step,
                time.time() - t_start)
    self._record_run({"train_files": train_files, "eval_files": eval_files,
                      "start_step": start_step, "end_step": int(self.step.numpy()),
                      "seed": seed, "wall_s": round(time.time() - t_start, 1),
                      "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
                      "last_eval": last_eval or None})
    return last_eval

  def _record_run(self, run: dict) -> None:
    append_run(self.model_dir, run)

  def evaluate(self, eval_files: str) -> dict:
    result = self.eval_metrics(eval_files)
    writer = tf.summary.create_file_writer(os.path.join(self.model_dir, "eval"))
    with writer.as_default(step=int(self.step.numpy())):
      for name, value in result.items():
        if isinstance(value, float):
          tf.summary.scalar(name, value)
    writer.flush()
    return result

  def save_keras_model(self) -> str:
    path = os.path.join(self.model_dir, MODEL_FILE)
    with atomic_io.atomic_path(path) as tmp:
      self.model.save(tmp)
    return path


def append_run(model_dir: str, run: dict) -> None:
  """Appends a training run to model_dir/training.json (provenance for model cards)."""
  path = os.path.join(model_dir, TRAINING_LOG)
  runs = []
  if os.path.exists(path):
    with open(path) as f:
      runs = json.load(f).get("runs", [])
  atomic_io.write_json(path, {"runs": runs + [run]})


def load_model(model_dir: str, expected_model: str | None = None):
  """(model, model_name, config) from a model_dir's config.json and latest checkpoint.

  Args:
    model_dir: Directory written by `Trainer`, or by the ORIGINAL TF1 code
      (its checkpoint is imported, see astronet.checkpoint_import).
    expected_model: If given (the scripts' --model), the model class name the
      directory must hold.

  Raises:
    CheckpointError: No config.json, another model class than expected, no
      checkpoint, or a checkpoint that does not fit the config.
  """
  from astronet import checkpoint_import  # pylint: disable=import-outside-toplevel
  if checkpoint_import.is_tf1_checkpoint(model_dir):
    # A model_dir of the ORIGINAL TF1 code: import its checkpoint on the fly.
    model, name, config, _ = checkpoint_import.import_checkpoint(model_dir)
    if expected_model and expected_model != name:
      raise errors.CheckpointError("{} holds a {}, not a {}".format(
          model_dir, name, expected_model))
    return model, name, config
  saved = config_util.read_config(model_dir)
  if saved is None:
    raise errors.CheckpointError("{} has no {}: not a model directory".format(
        model_dir, config_util.CONFIG_FILE))
  if expected_model and expected_model != saved["model"]:
    raise errors.CheckpointError("{} holds a {}, not a {}".format(
        model_dir, saved["model"], expected_model))
  model = models.build_model(saved["model"], saved["config"])
  latest = tf.train.latest_checkpoint(model_dir)
  if latest is None:
    raise errors.CheckpointError("No checkpoint in {}".format(model_dir))
  checkpoint = tf.train.Checkpoint(model=model)
  try:
    checkpoint.restore(latest).expect_partial().assert_existing_objects_matched()
  except (AssertionError, ValueError, tf.errors.OpError) as e:
    raise errors.CheckpointError(
        "Checkpoint {} does not fit {}: {}".format(latest, saved["model"], e)) from None
  return model, saved["model"], saved["config"]


_PREDICT_FUNCTIONS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def predict_function(model: keras.Model):
  """The model's inference call (float32 outputs) as a tf.function traced once per model."""
  predict = _PREDICT_FUNCTIONS.get(model)
  if predict is None:
    predict = tf.function(lambda f: tf.cast(model(f, training=False), tf.float32),
                          reduce_retracing=True)
    _PREDICT_FUNCTIONS[model] = predict
  return predict


def predict_logits(model: keras.Model, dataset: tf.data.Dataset):
  """(labels or None, logits [n]) over a dataset of (features, labels) or features."""
  predict = predict_function(model)
  all_labels, all_logits = [], []
  for batch in dataset:
    features, labels = batch if isinstance(batch, tuple) else (batch, None)
    logits = predict(features).numpy().reshape(-1)
    all_logits.append(logits)
    if labels is not None:
      all_labels.append(labels.numpy())
  logits = np.concatenate(all_logits) if all_logits else np.zeros([0])
  labels = np.concatenate(all_labels) if all_labels else None
  return labels, logits


def evaluate(model: keras.Model, config: Mapping, file_pattern: str,
             batch_size: int | None = None) -> dict:
  """Metrics of `model` on the records of `file_pattern` (see ops.metrics)."""
  batch_size = batch_size or int(config["hparams"]["batch_size"])
  dataset = make_dataset(config, file_pattern, training=False, batch_size=batch_size)
  labels, logits = predict_logits(model, dataset)
  output_dim = int(model.outputs[0].shape[-1])
  if output_dim != 1:
    logits = logits.reshape(-1, output_dim)
    result = metrics.multi_output_metrics(labels, logits)
    batch_means = [float(loss_fn(tf.constant(labels[i:i + batch_size]),
                                 tf.constant(logits[i:i + batch_size])))
                   for i in range(0, len(logits), batch_size)]
    result["loss"] = float(np.mean(batch_means))
    return result
  probabilities = shared_metrics.sigmoid(logits)
  result = metrics.binary_metrics(labels, probabilities)
  losses = metrics.sigmoid_cross_entropy(labels, logits)
  batch_means = [losses[i:i + batch_size].mean() for i in range(0, len(losses), batch_size)]
  result["loss"] = float(np.mean(batch_means))
  result["cross_entropy"] = float(losses.mean())
  return result


def format_metrics(result: Mapping) -> str:
  keys = ("accuracy", "auc", "precision", "recall", "loss", "average_precision")
  return ", ".join("{}={}".format(k, "n/a" if result.get(k) is None else
                                  "{:.4f}".format(result[k])) for k in keys if k in result)
