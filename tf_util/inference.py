"""The one way a trained model is run for inference, and logits become probabilities.

Used by Astronet (prediction, evaluation, ensembles), the flare models and
ASTROMER's encoder. Probabilities are computed in float32 by TensorFlow's
sigmoid / softmax, as the originals computed them (their prediction files are
reproduced byte for byte).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable

import numpy as np
import tensorflow as tf

_PREDICT_FUNCTIONS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def predict_function(model, output: str | None = None):
  """The model's inference call as a tf.function traced once per model (and output).

  Args:
    output: For a model with a dict of outputs, the one to return.

  Returns:
    f(inputs) -> float32 outputs, with training=False.
  """
  functions = _PREDICT_FUNCTIONS.setdefault(model, {})
  if output not in functions:
    def call(inputs):
      outputs = model(inputs, training=False)
      return tf.cast(outputs if output is None else outputs[output], tf.float32)
    functions[output] = tf.function(call, reduce_retracing=True)
  return functions[output]


def predict_batches(model, batches: Iterable, output: str | None = None) -> np.ndarray:
  """float32 outputs of `model` over `batches` (model inputs), concatenated on axis 0."""
  predict = predict_function(model, output)
  parts = [predict(batch).numpy() for batch in batches]
  if parts:
    return np.concatenate(parts)
  return np.zeros([0] + [int(d or 0) for d in model.outputs[0].shape[1:]], np.float32)


def predict_arrays(model, inputs, batch_size: int = 256, output: str | None = None) -> np.ndarray:
  """float32 outputs of `model` on in-memory inputs (an array or {name: array}), in batches."""
  return predict_batches(model, tf.data.Dataset.from_tensor_slices(inputs).batch(batch_size),
                         output)


def probabilities(logits, multi_label: bool = False) -> np.ndarray:
  """float32 probabilities of logits [n, output_dim] (or [n]).

  output_dim 1 (or [n]): sigmoid, [n]; output_dim > 1: softmax over the last
  axis, [n, output_dim], or with `multi_label` a sigmoid per output.
  """
  logits = tf.convert_to_tensor(logits, tf.float32)
  if logits.shape.rank == 1 or logits.shape[-1] == 1:
    return tf.sigmoid(tf.reshape(logits, [-1])).numpy()
  if multi_label:
    return tf.sigmoid(logits).numpy()
  return tf.nn.softmax(logits, axis=-1).numpy()


def positive_class_probability(logits) -> np.ndarray:
  """float32 [n] probability of the positive class: the sigmoid of a binary model,
  class 1 of a softmax model."""
  p = probabilities(logits)
  return p if p.ndim == 1 else p[:, 1]
