"""tf.distribute strategies by name, shared by the training scripts (--distribution)."""

from __future__ import annotations

import tensorflow as tf

DISTRIBUTIONS = ("mirrored", "one_device")


def make_strategy(distribution: str | None) -> tf.distribute.Strategy:
  """The tf.distribute strategy of --distribution (None: the default strategy)."""
  if distribution is None:
    return tf.distribute.get_strategy()
  if distribution == "mirrored":
    return tf.distribute.MirroredStrategy()
  if distribution == "one_device":
    gpus = tf.config.list_logical_devices("GPU")
    return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
  raise ValueError("Unknown --distribution {!r}; expected one of {}".format(
      distribution, DISTRIBUTIONS))
