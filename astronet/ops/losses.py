"""The training loss of Astronet models (binary, multi-class and multi-label heads)."""

from __future__ import annotations

import tensorflow as tf


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
