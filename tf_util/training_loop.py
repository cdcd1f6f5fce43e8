"""The one training layer of every model family: precision, train step, loops.

  compute_policy(mixed_precision)  builds models in mixed_float16 (float32 weights)
                                   and always restores float32 afterwards;
  wrap_optimizer(...)              the dynamic loss-scale wrapper under mixed precision;
  make_train_step(...)             ONE distributed train step: each replica's loss,
                                   scaled, its gradients applied by one or several
                                   optimizers (an ensemble: one per member), the
                                   losses summed over replicas; optional XLA;
  run_steps(...)                   the step loop (Astronet, AstroWaveNet, the
                                   ensemble): progress, NaN check, loss summaries,
                                   checkpoint and evaluation hooks every N steps;
  run_epochs(...)                  the epoch loop (ASTROMER, the flare transformer
                                   under multi-worker): epoch losses, an end-of-epoch
                                   hook that may stop training.

The families keep their models, losses, file layouts and flags; Keras `fit`
stays where it is the natural tool (the flare transformer on one machine).
Strategies come from tf_util.distribute, model directories from
tf_util.model_dir.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import sys
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

logger = logging.getLogger(__name__)

# Steps between loss summaries (the Estimator's save_summary_steps default).
SUMMARY_EVERY_STEPS = 100


@contextlib.contextmanager
def compute_policy(mixed_precision: bool):
  """Models built inside compute in float16 with float32 weights when
  `mixed_precision`; the global policy is float32 again on exit (always)."""
  if not mixed_precision:
    yield
    return
  keras.mixed_precision.set_global_policy("mixed_float16")
  try:
    yield
  finally:
    keras.mixed_precision.set_global_policy("float32")


def wrap_optimizer(optimizer: keras.optimizers.Optimizer,
                   mixed_precision: bool) -> keras.optimizers.Optimizer:
  """`optimizer`, in a dynamic LossScaleOptimizer under mixed precision."""
  if mixed_precision:
    return keras.optimizers.LossScaleOptimizer(optimizer)
  return optimizer


def inner_optimizer(optimizer: keras.optimizers.Optimizer) -> keras.optimizers.Optimizer:
  """The optimizer proper inside a loss-scale wrapper: what checkpoints hold, so
  that they move between float32 and mixed-precision runs (the scale restarts)."""
  return getattr(optimizer, "inner_optimizer", optimizer)


def _scale(optimizer, loss):
  if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
    return optimizer.scale_loss(loss)
  return loss


def make_train_step(loss_fn: Callable, variable_groups: Callable[[], Sequence[Sequence]],
                    optimizers: Sequence[keras.optimizers.Optimizer],
                    strategy: tf.distribute.Strategy | None = None,
                    jit_compile: bool = False,
                    step_counter: tf.Variable | None = None) -> Callable:
  """One train step over a (distributed) batch; returns the step's loss(es).

  Args:
    loss_fn: batch -> the mean loss of this replica's share of the batch: a
      scalar with one optimizer, or [len(optimizers)] losses, loss i
      depending only on variable group i (an ensemble's members). The step
      divides by the replica count, so the sum over replicas is the mean of
      the global batch.
    variable_groups: -> the variables of each optimizer (called when the
      step is traced, so that frozen / unfrozen layers are respected).
    optimizers: One optimizer per group (LossScaleOptimizers scale their own
      loss).
    strategy: tf.distribute strategy (default: the current one).
    jit_compile: XLA-compile each replica's step.
    step_counter: int64 variable incremented once per step.

  Returns:
    step(batch) -> float32 loss (scalar, or [groups]) summed over replicas.
  """
  strategy = strategy or tf.distribute.get_strategy()
  replicas = strategy.num_replicas_in_sync
  single = len(optimizers) == 1

  def replica_step(batch):
    groups = [list(g) for g in variable_groups()]
    if not any(groups):
      raise ValueError("Every layer of the model is frozen: nothing to train")
    flat = [v for group in groups for v in group]
    with tf.GradientTape() as tape:
      losses = tf.cast(loss_fn(batch), tf.float32) / replicas
      per_group = [losses] if single else tf.unstack(losses, num=len(optimizers))
      # Group i's variables only reach loss i: the sum gives each group the
      # gradient of its own loss (each scaled by its own optimizer).
      total = tf.add_n([_scale(opt, loss) for opt, loss in zip(optimizers, per_group)])
    grads = tape.gradient(total, flat)
    start = 0
    for optimizer, group in zip(optimizers, groups):
      optimizer.apply_gradients(zip(grads[start:start + len(group)], group))
      start += len(group)
    if step_counter is not None:
      step_counter.assign_add(1)
    return losses

  if jit_compile:
    replica_step = tf.function(replica_step, jit_compile=True)

  @tf.function(reduce_retracing=True)
  def step(batch):
    per_replica = strategy.run(replica_step, args=(batch,))
    return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

  return step


@dataclasses.dataclass
class Every:
  """A hook run every `steps` steps and at the last step: hook(step)."""
  steps: int
  hook: Callable[[int], None]


def run_steps(train_step: Callable, batches: Iterator, step_counter: tf.Variable,
              train_steps: int, hooks: Iterable[Every] = (),
              summary_writers: Sequence | None = None, verbose: bool = True,
              log_every_steps: int = 100, describe: Callable[[np.ndarray], str] | None = None,
              summary_every_steps: int = SUMMARY_EVERY_STEPS) -> float:
  """Runs `train_step` on `batches` until `step_counter` reaches `train_steps`.

  A progress bar on a terminal; in a log file (ensemble_train.sh, CI) a line
  every `log_every_steps` instead. Every `summary_every_steps` steps (and at
  the last one) the mean loss of the steps since the previous summary (one
  per summary writer, for an ensemble) goes to TensorBoard as "loss", as the
  Estimator's save_summary_steps did; a summary every step costs an ensemble
  of 10 about 10 % of its step time on a CPU. A non-finite loss stops
  training with FloatingPointError. `hooks` (checkpoints, evaluation) run
  every N steps and at the last one.

  Returns:
    The wall time in seconds.
  """
  start_step = int(step_counter.numpy())
  interactive = verbose and sys.stdout.isatty()
  progbar = keras.utils.Progbar(train_steps, stateful_metrics=["loss"],
                                verbose=1 if interactive else 0)
  progbar.update(start_step)
  describe = describe or (lambda losses: "loss {}".format(
      np.array2string(losses, precision=4) if losses.ndim else "{:.4f}".format(float(losses))))
  hooks = list(hooks)
  summary_every_steps = max(1, int(summary_every_steps))
  loss_sum, loss_count = 0.0, 0
  t_start = time.time()
  step = start_step
  while step < train_steps:
    losses = np.asarray(train_step(next(batches)))
    step = int(step_counter.numpy())
    if not np.all(np.isfinite(losses)):
      raise FloatingPointError("Training loss {} at step {}".format(losses.tolist(), step))
    progbar.update(step, [("loss", float(np.mean(losses)))])
    if verbose and not interactive and (step % log_every_steps == 0 or step == train_steps):
      logger.info("step %d/%d: %s (%.1f steps/s)", step, train_steps, describe(losses),
                  (step - start_step) / max(time.time() - t_start, 1e-9))
    loss_sum, loss_count = loss_sum + np.atleast_1d(losses).astype(np.float64), loss_count + 1
    if summary_writers and (step % summary_every_steps == 0 or step >= train_steps):
      for writer, loss in zip(summary_writers, loss_sum / loss_count):
        with writer.as_default(step=step):
          tf.summary.scalar("loss", float(loss))
      loss_sum, loss_count = 0.0, 0
    for every in hooks:
      if step % every.steps == 0 or step == train_steps:
        every.hook(step)
  for writer in summary_writers or ():
    writer.flush()
  return time.time() - t_start


def run_epochs(train_step: Callable, batches: Iterable, epochs: int,
               on_epoch_end: Callable[[int, float], bool], initial_epoch: int = 0) -> int:
  """Runs `train_step` over every batch of `batches` once per epoch.

  Args:
    on_epoch_end: (epoch index, the epoch's mean loss) -> True to stop
      (early stopping).

  Returns:
    The number of epochs run.
  """
  run = 0
  for epoch in range(initial_epoch, epochs):
    losses = [float(train_step(batch)) for batch in batches]
    run += 1
    mean = float(np.mean(losses)) if losses else float("nan")
    if not np.isfinite(mean):
      raise FloatingPointError("Training loss {} in epoch {}".format(mean, epoch + 1))
    if on_epoch_end(epoch, mean):
      break
  return run
