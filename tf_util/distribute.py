"""tf.distribute strategies by name, shared by the training scripts (--distribution).

  none          the default strategy (one device);
  mirrored      MirroredStrategy over the local GPUs (one device on CPU);
  one_device    OneDeviceStrategy on the first GPU (CPU if none);
  multi_worker  MultiWorkerMirroredStrategy over the machines of TF_CONFIG
                (each worker runs the same command with its own TF_CONFIG
                task; worker 0, or the "chief", writes the model directory).
"""

from __future__ import annotations

import contextlib
import json
import os

import tensorflow as tf

from tf_util import atomic_io

DISTRIBUTIONS = ("none", "mirrored", "one_device", "multi_worker")

# MultiWorkerMirroredStrategy must be made once, before other TF ops run.
_MULTI_WORKER = None


def make_strategy(distribution: str | None) -> tf.distribute.Strategy:
  """The tf.distribute strategy of --distribution (None or "none": the default)."""
  global _MULTI_WORKER
  if distribution in (None, "none"):
    return tf.distribute.get_strategy()
  if distribution == "mirrored":
    return tf.distribute.MirroredStrategy()
  if distribution == "one_device":
    gpus = tf.config.list_logical_devices("GPU")
    return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
  if distribution == "multi_worker":
    if _MULTI_WORKER is None:
      if not os.environ.get("TF_CONFIG"):
        raise ValueError("--distribution=multi_worker needs TF_CONFIG (cluster and task) "
                         "in the environment of every worker")
      _MULTI_WORKER = tf.distribute.MultiWorkerMirroredStrategy()
    return _MULTI_WORKER
  raise ValueError("Unknown --distribution {!r}; expected one of {}".format(
      distribution, DISTRIBUTIONS))


def set_up_early(distribution: str | None, intra_op_threads: int = 0,
                 inter_op_threads: int = 0) -> None:
  """Sets TensorFlow's thread pools and creates the multi-worker strategy now.

  Scripts call this first: thread pools can only be sized before TensorFlow's
  runtime starts, and MultiWorkerMirroredStrategy sets up the collective
  runtime, which fails once other TF ops have run. The later `make_strategy`
  returns the same instance. Other strategies are made where they are used.

  Args:
    intra_op_threads: Threads inside one op (0: TensorFlow's default, one per
      core).
    inter_op_threads: Ops run at once (0: TensorFlow's default). On a small
      CPU an ensemble trained together gains from 1 intra-op and 2 inter-op
      threads (its members' ops are independent): bench/bench_ensemble.py.
  """
  if intra_op_threads or inter_op_threads:
    tf.config.threading.set_intra_op_parallelism_threads(int(intra_op_threads))
    tf.config.threading.set_inter_op_parallelism_threads(int(inter_op_threads))
  if distribution == "multi_worker":
    make_strategy(distribution)


def task() -> tuple[str | None, int]:
  """(task type, index) of this process in TF_CONFIG; (None, 0) outside a cluster."""
  config = json.loads(os.environ.get("TF_CONFIG") or "{}")
  spec = config.get("task") or {}
  return spec.get("type"), int(spec.get("index", 0))


def is_chief(strategy: tf.distribute.Strategy) -> bool:
  """Whether this process writes the model directory (always, outside multi_worker)."""
  if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
    return True
  task_type, index = task()
  cluster = json.loads(os.environ.get("TF_CONFIG") or "{}").get("cluster", {})
  if "chief" in cluster:
    return task_type == "chief"
  return task_type in (None, "worker") and index == 0


def write_dir(model_dir: str, strategy: tf.distribute.Strategy) -> str:
  """Where this process writes checkpoints and summaries.

  Every worker of a multi-worker run has to take part in saving (the variables
  are synchronised by collectives); only the chief's copy lands in model_dir,
  the others go to a scratch folder removed when training ends.
  """
  if is_chief(strategy):
    return model_dir
  task_type, index = task()
  return os.path.join(model_dir, ".workers", "{}_{}".format(task_type, index))


def remove_write_dir(path: str) -> None:
  """Deletes a non-chief worker's scratch `write_dir` once training is over, and
  the `.workers` folder above it when this was the last one."""
  if tf.io.gfile.exists(path):
    tf.io.gfile.rmtree(path)
  parent = os.path.dirname(path)
  if tf.io.gfile.isdir(parent) and not tf.io.gfile.listdir(parent):
    tf.io.gfile.rmtree(parent)


def writes_model_dir(distribution: str | None) -> bool:
  """Whether this process writes the model directory (and so holds its lock)."""
  if distribution != "multi_worker":
    return True
  return is_chief(make_strategy(distribution))


def model_dir_lock(model_dir: str, distribution: str | None):
  """The output lock of `model_dir` for the process that writes it; a no-op for
  the other workers of a multi-worker run."""

  if writes_model_dir(distribution):
    return atomic_io.DirectoryLock(model_dir)
  return contextlib.nullcontext()
