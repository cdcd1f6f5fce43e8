"""Training the members of an Astronet ensemble together, as ONE Keras model.

`ensemble_train.sh` trains its 10 members one after the other, each a process
running a small model that leaves a GPU mostly idle. `EnsembleTrainer` builds
the members side by side in one functional model (inputs [batch, members,
length], logits [batch, members, output_dim]) and runs one train step for all
of them:

* member i is initialised exactly as `train.py --seed=s_i` initialises its
  model (`keras.utils.set_random_seed(s_i)` then the same build), and reads
  its own input pipeline (own shuffle and reversal seed s_i), so members stay
  as different as separately trained ones;
* the step minimises the sum of the members' mean losses, so each member's
  gradient is that of its own loss, and each member has its own Adam (own
  moments, own gradient clipping): a member trained here gets the weights it
  would get trained alone with the same seed and data (tested to 1e-5);
* each member has an ordinary model directory, `model_dir/model_{i}` (the
  layout of ensemble_train.sh): config.json, checkpoints with its Adam state
  and the shared step, summaries, model.keras, training.json. train.py,
  evaluate.py and batch_predict.py --average use them as they are
  (batch_predict.py --export_ensemble makes one inference file of them).

Resumes like `Trainer`: every member must have its latest checkpoint at the
same step (they always do when written by this class).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from astronet import models
from astronet.astro_model import configurations
from astronet.ops import dataset_ops
from astronet.ops import evaluation
from astronet.ops import losses
from astronet.ops import training
from tf_util import errors
from tf_util import model_dir as model_dir_lib
from tf_util import training_loop

logger = logging.getLogger(__name__)

def member_dir(model_dir: str, index: int) -> str:
  """Directory of member `index` (1-based), as ensemble_train.sh names it."""
  return os.path.join(model_dir, "model_{}".format(index))


def build_stacked_model(members: Sequence[keras.Model], config: Mapping,
                        name: str = "ensemble") -> keras.Model:
  """One functional model running `members` side by side.

  Inputs: {feature: float32 [batch, num_members, length]}; member i sees
  [:, i]. Output: logits [batch, num_members, output_dim].
  """
  lengths = configurations.feature_lengths(config)
  inputs = {feature: keras.Input((len(members), length), name=feature)
            for feature, length in lengths.items()}
  outputs = [member({feature: inputs[feature][:, i] for feature in lengths})
             for i, member in enumerate(members)]
  return keras.Model(inputs, keras.ops.stack(outputs, axis=1), name=name)


class EnsembleTrainer:
  """Step-based training of several seeds of one model in one train step."""

  def __init__(self, model_name: str, config: Mapping, model_dir: str,
               seeds: Sequence[int], member_indices: Sequence[int] | None = None,
               keep_checkpoint_max: int = 5, mixed_precision: bool = False,
               jit_compile: bool = False):
    """Builds (or resumes) the members in model_dir/model_{index}.

    Args:
      seeds: Seed of each member (weights, shuffling, reversal), as train.py's
        --seed.
      member_indices: 1-based index of each member's directory; 1..len(seeds)
        by default.
      mixed_precision: float16 compute, float32 weights and logits, dynamic
        loss scaling per member.
      jit_compile: Compile the train step with XLA.
    """
    if not seeds:
      raise ValueError("An ensemble needs at least one member seed")
    self.model_name = model_name
    self.config = config
    self.model_dir = model_dir
    self.seeds = list(seeds)
    indices = list(member_indices or range(1, len(self.seeds) + 1))
    if len(indices) != len(self.seeds):
      raise ValueError("{} member indices for {} seeds".format(len(indices), len(self.seeds)))
    self.member_dirs = [member_dir(model_dir, i) for i in indices]
    self.mixed_precision = mixed_precision
    self.jit_compile = jit_compile
    for directory in self.member_dirs:
      model_dir_lib.prepare(directory, training.model_description(model_name, config))

    self.step = tf.Variable(0, dtype=tf.int64, name="global_step")
    self.members, self.optimizers, self.managers = [], [], []
    with training_loop.compute_policy(mixed_precision):
      for index, seed in zip(indices, self.seeds):
        # The state train.py --seed=seed builds its model in.
        keras.utils.set_random_seed(seed)
        member = models.get_model_class(model_name)(dict(config)).build(
            name="{}_{}".format(model_name, index))
        optimizer = training_loop.wrap_optimizer(training.make_optimizer(config["hparams"]),
                                                 mixed_precision)
        optimizer.build(member.trainable_variables)
        self.members.append(member)
        self.optimizers.append(optimizer)
      self.model = build_stacked_model(self.members, config)
    for member, optimizer, directory in zip(self.members, self.optimizers, self.member_dirs):
      # The checkpoint of a `Trainer` of this member: train.py can resume it.
      _, manager = model_dir_lib.make_checkpoint(
          directory, keep_checkpoint_max, model=member,
          optimizer=training_loop.inner_optimizer(optimizer), global_step=self.step)
      self.managers.append(manager)
    self._restore()
    self._label_smoothing = float(config["hparams"].get("label_smoothing", 0.0))
    self._step_fn = None

  def _restore(self):
    latest = [m.latest_checkpoint for m in self.managers]
    if all(path is None for path in latest):
      return
    steps = {model_dir_lib.checkpoint_step(path) for path in latest}
    if len(steps) != 1:
      raise errors.CheckpointError(
          "The members in {} were left at different steps ({}); finish them one by one "
          "with train.py".format(self.model_dir, dict(zip(self.member_dirs, latest))))
    for manager, path in zip(self.managers, latest):
      model_dir_lib.restore(manager.checkpoint, path)
    logger.info("Resumed %d members at step %d", len(self.members), int(self.step.numpy()))

  def train_dataset(self, train_files: str, shuffle_buffer_size: int,
                    seed_offset: int = 0) -> tf.data.Dataset:
    """Batches of every member's own pipeline, stacked on axis 1.

    Elements: ({feature: [batch, members, length]}, labels [batch, members]).
    """
    datasets = []
    for seed in self.seeds:
      # shuffle(seed=...) also depends on TF's global seed: set it as train.py has it.
      keras.utils.set_random_seed(seed)
      datasets.append(dataset_ops.make_dataset(self.config, train_files, True,
                                            shuffle_buffer_size=shuffle_buffer_size,
                                            seed=seed + seed_offset))

    def stack(*batches):
      features = {name: tf.stack([f[name] for f, _ in batches], axis=1)
                  for name in batches[0][0]}
      labels = tf.stack([labels for _, labels in batches], axis=1)
      return features, labels

    return tf.data.Dataset.zip(tuple(datasets)).map(
        stack, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

  def _train_step(self, batch):
    if self._step_fn is None:
      def member_losses(batch):
        features, labels = batch
        logits = self.model(features, training=True)
        return tf.stack([losses.loss_fn(labels[:, i], logits[:, i], self._label_smoothing)
                         for i in range(len(self.members))])

      self._step_fn = training_loop.make_train_step(
          member_losses, lambda: [m.trainable_variables for m in self.members],
          self.optimizers, jit_compile=self.jit_compile, step_counter=self.step)
    return self._step_fn(batch)

  def train(self, train_files: str, train_steps: int, eval_files: str | None = None,
            eval_every_steps: int = 1000, save_every_steps: int = 1000,
            shuffle_buffer_size: int = 15000, verbose: bool = True,
            log_every_steps: int = 100) -> list[dict]:
    """Trains every member to `train_steps`; returns each member's last eval (or {})."""
    start_step = int(self.step.numpy())
    # As Trainer: a resumed run gets a different shuffle/reversal stream.
    dataset = self.train_dataset(train_files, shuffle_buffer_size, start_step)
    last_eval = [{} for _ in self.members]

    def save(step):
      for manager in self.managers:
        manager.save(checkpoint_number=step)

    def evaluate_now(step):
      last_eval[:] = self.evaluate(eval_files)

    hooks = [training_loop.Every(save_every_steps, save)]
    if eval_files:
      hooks.append(training_loop.Every(eval_every_steps, evaluate_now))
    wall = training_loop.run_steps(
        self._train_step, iter(dataset), self.step, train_steps, hooks,
        [tf.summary.create_file_writer(os.path.join(d, "train")) for d in self.member_dirs],
        verbose, log_every_steps,
        describe=lambda l: "member losses {}".format(np.array2string(l, precision=4)))
    self.save_keras_models()
    wall = round(wall, 1)
    logger.info("Trained %d members %d steps in %.1f s", len(self.members),
                int(self.step.numpy()) - start_step, wall)
    for directory, seed, result in zip(self.member_dirs, self.seeds, last_eval):
      model_dir_lib.append_run(directory, {
          "train_files": train_files, "eval_files": eval_files, "start_step": start_step,
          "end_step": int(self.step.numpy()), "seed": seed, "wall_s": wall,
          "trained_with": "EnsembleTrainer ({} members)".format(len(self.members)),
          "finished": time.strftime("%Y-%m-%dT%H:%M:%S"), "last_eval": result or None})
    return last_eval

  def evaluate(self, eval_files: str) -> list[dict]:
    """Each member's metrics on eval_files (written to its eval/ summaries)."""
    results = []
    step = int(self.step.numpy())
    for index, (member, directory) in enumerate(zip(self.members, self.member_dirs)):
      result = evaluation.evaluate(member, self.config, eval_files)
      evaluation.write_summaries(os.path.join(directory, "eval"), step, result)
      logger.info("step %d, member %d: %s", step, index + 1, evaluation.format_metrics(result))
      results.append(result)
    return results

  def save_keras_models(self) -> None:
    """model.keras in every member directory."""
    for member, directory in zip(self.members, self.member_dirs):
      model_dir_lib.save_keras(member, os.path.join(directory, model_dir_lib.MODEL_FILE))
