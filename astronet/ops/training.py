"""Training of Astronet Keras models: config, input checks, optimizer, loss, Trainer.

The model directory it writes (config.json, checkpoints, summaries,
model.keras, training.json) is tf_util.model_dir's; the step loop, the
distributed step and mixed precision are tf_util.training_loop's; loading a
model of any form is astronet.ops.model_loading; metrics of a model on
records are astronet.ops.evaluation. Training resumes from the latest
checkpoint after an interruption.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping

import keras
import tensorflow as tf

from astronet import checkpoint_import
from astronet import models
from astronet.astro_model import configurations as base_configurations
from astronet.ops import dataset_ops
from astronet.ops import evaluation
from astronet.ops import losses
from astronet.ops import model_loading
from astronet.util import config_util
from tf_util import distribute
from tf_util import errors
from tf_util import model_dir as model_dir_lib
from tf_util import training_loop

logger = logging.getLogger(__name__)


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
          dataset_ops.expand_file_pattern(pattern), base_configurations.feature_lengths(config),
          inputs["label_feature"], inputs["label_map"])
  if not counts.get("train"):
    raise errors.RecordFormatError("The training files {} hold no records".format(train_files))
  return counts["train"]


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


def model_description(model_name: str, config: Mapping) -> dict:
  """The config.json of an Astronet model_dir: {"model": class name, "config": config}."""
  return {"model": model_name, "config": config}


class Trainer:
  """Step-based training of one model with checkpoints, summaries and resume.

  The loop, the distributed step and the precision set-up are
  tf_util.training_loop's; the directory layout is tf_util.model_dir's.
  """

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
    self.strategy = distribute.make_strategy(distribution)
    self.is_chief = distribute.is_chief(self.strategy)
    # Non-chief workers of a multi-worker run save into a scratch folder.
    self.write_dir = distribute.write_dir(model_dir, self.strategy)
    if self.is_chief:
      model_dir_lib.prepare(model_dir, self.description())
    self.mixed_precision = mixed_precision
    self.jit_compile = jit_compile
    with training_loop.compute_policy(mixed_precision), self.strategy.scope():
      self.model = self.build_model()
      self.optimizer = training_loop.wrap_optimizer(make_optimizer(config["hparams"]),
                                                    mixed_precision)
      # Built on every weight, so that freezing and unfreezing layers later
      # (transfer learning) trains subsets of variables the optimizer knows.
      self.optimizer.build(self.model.trainable_variables)
      self.step = tf.Variable(0, dtype=tf.int64, name="global_step",
                              aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
    self._step_fn = None
    self.checkpoint, self.manager = model_dir_lib.make_checkpoint(
        self.write_dir, keep_checkpoint_max, model=self.model,
        optimizer=training_loop.inner_optimizer(self.optimizer), global_step=self.step)
    # Every worker resumes from the chief's checkpoints in model_dir.
    latest = model_dir_lib.restore_latest(self.checkpoint, self.model_dir)
    if latest:
      logger.info("Resumed from %s at step %d", latest, int(self.step.numpy()))
    self._label_smoothing = float(config["hparams"].get("label_smoothing", 0.0))

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
    if tf.train.latest_checkpoint(self.model_dir) is not None:
      logger.info("%s has a checkpoint; resuming it instead of warm-starting from %s",
                  self.model_dir, path)
      return False
    weights, tf1_checkpoint = model_loading.load_weights(path)
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
  def description(self) -> dict:
    """What config.json records about this model."""
    return model_description(self.model_name, self.config)

  def build_model(self) -> keras.Model:
    """The Keras model of self.config (called under the strategy's scope)."""
    return models.build_model(self.model_name, dict(self.config))

  def batch_loss(self, batch, training: bool = True):
    """Scalar mean loss of one batch of the training dataset."""
    features, labels = batch
    logits = self.model(features, training=training)
    return losses.loss_fn(labels, logits, self._label_smoothing)

  def train_dataset(self, train_files: str, shuffle_buffer_size: int,
                    seed: int | None) -> tf.data.Dataset:
    """The repeating, shuffled training input pipeline."""
    return dataset_ops.make_dataset(self.config, train_files, True,
                        shuffle_buffer_size=shuffle_buffer_size, seed=seed)

  def eval_metrics(self, eval_files: str) -> dict:
    """Metrics of the current model on `eval_files`."""
    return evaluation.evaluate(self.model, self.config, eval_files)

  def _train_step(self, batch):
    if self._step_fn is None:
      self._step_fn = training_loop.make_train_step(
          self.batch_loss, lambda: [self.model.trainable_variables], [self.optimizer],
          self.strategy, self.jit_compile, self.step)
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
    last_eval = {}

    def save(step):
      self.manager.save(checkpoint_number=step)

    def evaluate_now(step):
      last_eval.clear()
      last_eval.update(self.evaluate(eval_files))
      logger.info("step %d: %s", step, evaluation.format_metrics(last_eval))

    hooks = [training_loop.Every(save_every_steps, save)]
    if eval_files and self.is_chief:
      hooks.append(training_loop.Every(eval_every_steps, evaluate_now))
    wall = training_loop.run_steps(
        self._train_step, iter(self.strategy.experimental_distribute_dataset(dataset)),
        self.step, train_steps, hooks,
        [tf.summary.create_file_writer(os.path.join(self.write_dir, "train"))],
        verbose, log_every_steps)
    if not self.is_chief:
      # This worker's copies of the checkpoints were only needed for saving.
      distribute.remove_write_dir(self.write_dir)
      return dict(last_eval)
    self.save_keras_model()
    logger.info("Trained %d steps in %.1f s", int(self.step.numpy()) - start_step, wall)
    self._record_run({"train_files": train_files, "eval_files": eval_files,
                      "start_step": start_step, "end_step": int(self.step.numpy()),
                      "seed": seed, "wall_s": round(wall, 1),
                      "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
                      "last_eval": dict(last_eval) or None})
    return dict(last_eval)

  def _record_run(self, run: dict) -> None:
    model_dir_lib.append_run(self.model_dir, run)

  def evaluate(self, eval_files: str) -> dict:
    result = self.eval_metrics(eval_files)
    evaluation.write_summaries(os.path.join(self.model_dir, "eval"), int(self.step.numpy()),
                               result)
    return result

  def save_keras_model(self) -> str:
    return model_dir_lib.save_keras(self.model, os.path.join(self.model_dir,
                                                             model_dir_lib.MODEL_FILE))
