"""Numpy metrics of binary classifiers, shared by every model family.

The families' original tools differ in small rules, which are explicit options
here rather than separate implementations:

* threshold: Astronet's evaluate counts p > t as positive, the flare tools
  (and find_incorrect.py's table) p >= t: `positive_at_threshold`.
* undefined ratios (precision with no positive call ...): None (Astronet) or
  0.0 (the flare tools): `undefined`.
* ROC AUC: "exact" (the rank statistic, ties averaged; NaN with one class) or
  "tf_metrics" (1000 evenly spaced thresholds, trapezoidal, with tf.metrics.auc's
  epsilons, as the originals' evaluate.py printed it).
"""

from __future__ import annotations

import numpy as np

AUC_METHODS = ("exact", "tf_metrics")


def sigmoid_cross_entropy(labels: np.ndarray, logits: np.ndarray) -> np.ndarray:
  """Per-example sigmoid cross-entropy of logits, numerically stable (as TF's)."""
  labels = np.asarray(labels, np.float64).reshape(-1)
  logits = np.asarray(logits, np.float64).reshape(-1)
  return np.maximum(logits, 0) - logits * labels + np.log1p(np.exp(-np.abs(logits)))


def binary_cross_entropy(labels: np.ndarray, probabilities: np.ndarray) -> float:
  """Mean cross-entropy of probabilities (clipped to [1e-7, 1 - 1e-7], as Keras)."""
  p = np.clip(np.asarray(probabilities, np.float64), 1e-7, 1 - 1e-7)
  y = np.asarray(labels, np.float64)
  return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _confusion_at_thresholds(labels, probs, num_thresholds):
  """TP/FP/TN/FN at tf.metrics' thresholds (-eps, i/(n-1) ..., 1+eps), vectorised."""
  eps = 1e-7
  thresholds = np.concatenate([[-eps], np.arange(1, num_thresholds - 1) /
                               (num_thresholds - 1.0), [1.0 + eps]])
  # Predictions strictly above each threshold, counted by sorting.
  pos = np.sort(probs[labels])
  neg = np.sort(probs[~labels])
  tp = pos.size - np.searchsorted(pos, thresholds, side="right")
  fp = neg.size - np.searchsorted(neg, thresholds, side="right")
  fn = pos.size - tp
  tn = neg.size - fp
  return tuple(a.astype(np.float64) for a in (tp, fp, tn, fn))


def roc_auc(labels, scores, method: str = "exact", num_thresholds: int = 1000) -> float:
  """ROC AUC of scores against 0/1 labels (see module docstring for `method`).

  "exact" is NaN when only one class is present.
  """
  labels = np.asarray(labels).astype(bool).ravel()
  scores = np.asarray(scores, np.float64).ravel()
  if method == "tf_metrics":
    tp, fp, tn, fn = _confusion_at_thresholds(labels, scores, num_thresholds)
    eps = 1e-6
    tpr = (tp + eps) / (tp + fn + eps)
    fpr = fp / (fp + tn + eps)
    return float(np.sum((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2))
  if method != "exact":
    raise ValueError("Unknown AUC method {!r}; expected one of {}".format(method, AUC_METHODS))
  from scipy import stats  # noqa: PLC0415  (SciPy: only this function needs it (0.5 s import))
  n_pos, n_neg = labels.sum(), (~labels).sum()
  if not n_pos or not n_neg:
    return float("nan")
  ranks = stats.rankdata(scores)
  return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def pr_auc(labels, scores, num_thresholds: int = 1000) -> float:
  """Trapezoidal precision-recall AUC over tf.metrics' thresholds."""
  tp, fp, _, fn = _confusion_at_thresholds(np.asarray(labels, bool).ravel(),
                                           np.asarray(scores, np.float64).ravel(),
                                           num_thresholds)
  eps = 1e-6
  recall = (tp + eps) / (tp + fn + eps)
  precision = (tp + eps) / (tp + fp + eps)
  return float(np.sum((recall[:-1] - recall[1:]) * (precision[:-1] + precision[1:]) / 2))


def average_precision(labels, scores) -> float:
  """Mean over positives of the precision at their rank (ties broken stably); NaN
  without positives."""
  labels = np.asarray(labels, bool).ravel()
  if not labels.any():
    return float("nan")
  order = np.argsort(-np.asarray(scores, dtype=np.float64).ravel(), kind="stable")
  hits = labels[order]
  precision_at_k = np.cumsum(hits) / np.arange(1, hits.size + 1)
  return float(np.mean(precision_at_k[hits]))


def confusion(labels, probabilities, threshold: float = 0.5,
              positive_at_threshold: bool = False) -> tuple[int, int, int, int]:
  """(tp, fp, tn, fn) with p > threshold positive (p >= threshold with
  positive_at_threshold)."""
  labels = np.asarray(labels).astype(bool).ravel()
  probs = np.asarray(probabilities, dtype=np.float64).ravel()
  called = probs >= threshold if positive_at_threshold else probs > threshold
  return (int(np.sum(called & labels)), int(np.sum(called & ~labels)),
          int(np.sum(~called & ~labels)), int(np.sum(~called & labels)))


def binary_metrics(labels, probabilities, threshold: float = 0.5,
                   positive_at_threshold: bool = False, undefined=None,
                   auc_method: str = "exact") -> dict:
  """Metrics of probabilities [n] against 0/1 labels [n].

  Returns:
    {num_examples, positives, accuracy (NaN with no example), precision,
    recall, f1 (`undefined` where 0/0), auc (per `auc_method`),
    average_precision, true_positives, false_positives, true_negatives,
    false_negatives}.
  """
  tp, fp, tn, fn = confusion(labels, probabilities, threshold, positive_at_threshold)
  n = tp + fp + tn + fn
  precision = tp / (tp + fp) if tp + fp else undefined
  recall = tp / (tp + fn) if tp + fn else undefined
  if precision and recall:
    f1 = 2 * precision * recall / (precision + recall)
  else:
    f1 = undefined if precision is None or recall is None else 0.0
  return {
      "num_examples": n, "positives": tp + fn,
      "accuracy": (tp + tn) / n if n else float("nan"),
      "precision": precision, "recall": recall, "f1": f1,
      "auc": roc_auc(labels, probabilities, auc_method),
      "average_precision": average_precision(labels, probabilities),
      "true_positives": tp, "false_positives": fp,
      "true_negatives": tn, "false_negatives": fn,
  }
