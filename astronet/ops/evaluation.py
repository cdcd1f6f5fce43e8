"""Metrics of an Astronet model on TFRecords (train.py's evaluation, evaluate.py).

The model runs through tf_util.inference; metrics follow astronet.ops.metrics
(the originals' rules: p > 0.5 is a positive call, undefined ratios None).
"""

from __future__ import annotations

from collections.abc import Mapping

import keras
import numpy as np
import tensorflow as tf

from astronet.ops import dataset_ops
from astronet.ops import losses
from astronet.ops import metrics
from tf_util import inference


def predict_logits(model: keras.Model, dataset: tf.data.Dataset):
  """(labels or None, logits [n]) over a dataset of (features, labels) or features."""
  predict = inference.predict_function(model)
  all_labels, all_logits = [], []
  for batch in dataset:
    features, labels = batch if isinstance(batch, tuple) else (batch, None)
    all_logits.append(predict(features).numpy().reshape(-1))
    if labels is not None:
      all_labels.append(labels.numpy())
  logits = np.concatenate(all_logits) if all_logits else np.zeros([0])
  labels = np.concatenate(all_labels) if all_labels else None
  return labels, logits


def evaluate(model: keras.Model, config: Mapping, file_pattern: str,
             batch_size: int | None = None) -> dict:
  """Metrics of `model` on the records of `file_pattern` (see ops.metrics).

  "loss" is the mean over batches of each batch's mean loss (as the
  Estimator's eval loss); "cross_entropy" the mean over records.
  """
  batch_size = batch_size or int(config["hparams"]["batch_size"])
  dataset = dataset_ops.make_dataset(config, file_pattern, training=False,
                                     batch_size=batch_size)
  labels, logits = predict_logits(model, dataset)
  output_dim = int(model.outputs[0].shape[-1])
  if output_dim != 1:
    logits = logits.reshape(-1, output_dim)
    result = metrics.multi_output_metrics(
        labels, inference.probabilities(logits, multi_label=labels.ndim == 2))
    batch_means = [float(losses.loss_fn(tf.constant(labels[i:i + batch_size]),
                                        tf.constant(logits[i:i + batch_size])))
                   for i in range(0, len(logits), batch_size)]
    result["loss"] = float(np.mean(batch_means))
    return result
  result = metrics.binary_metrics(labels, inference.probabilities(logits))
  per_example = metrics.sigmoid_cross_entropy(labels, logits)
  batch_means = [per_example[i:i + batch_size].mean()
                 for i in range(0, len(per_example), batch_size)]
  result["loss"] = float(np.mean(batch_means))
  result["cross_entropy"] = float(per_example.mean())
  return result


def write_summaries(directory: str, step: int, result: Mapping) -> None:
  """The float metrics of `result` as TensorBoard scalars at `step`."""
  writer = tf.summary.create_file_writer(directory)
  with writer.as_default(step=step):
    for name, value in result.items():
      if isinstance(value, float):
        tf.summary.scalar(name, value)
  writer.flush()


def format_metrics(result: Mapping) -> str:
  """One log line of the headline metrics ("n/a" where undefined)."""
  keys = ("accuracy", "auc", "precision", "recall", "loss", "average_precision")
  return ", ".join("{}={}".format(k, "n/a" if result.get(k) is None else
                                  "{:.4f}".format(result[k])) for k in keys if k in result)
