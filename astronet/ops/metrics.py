"""Evaluation metrics of the binary Astronet classifiers.

`evaluate_model` streams a dataset through a model and reports what the
originals' evaluate.py reported (accuracy, auc, loss, the confusion counts)
plus precision, recall, PR-AUC and average precision:

* auc: ROC AUC over 1000 evenly spaced thresholds, trapezoidal, as
  tf.metrics.auc(num_thresholds=1000) in the originals.
* loss: mean of the per-batch mean cross-entropies (the originals' eval loss);
  cross_entropy: per-example mean.
* precision/recall at threshold 0.5 (None when undefined, e.g. no positive
  prediction).
* average_precision: exact, sum over positives of precision at their rank.
"""

from __future__ import annotations

import numpy as np


def binary_metrics(labels: np.ndarray, probabilities: np.ndarray,
                   num_thresholds: int = 1000, threshold: float = 0.5) -> dict:
  """Metrics of probabilities [n] against 0/1 labels [n]."""
  labels = np.asarray(labels).astype(bool).ravel()
  probs = np.asarray(probabilities, dtype=np.float64).ravel()
  predicted = probs > threshold
  tp = int(np.sum(predicted & labels))
  fp = int(np.sum(predicted & ~labels))
  tn = int(np.sum(~predicted & ~labels))
  fn = int(np.sum(~predicted & labels))
  return {
      "num_examples": int(labels.size),
      "accuracy": (tp + tn) / max(labels.size, 1),
      "auc": roc_auc(labels, probs, num_thresholds),
      "pr_auc": pr_auc(labels, probs, num_thresholds),
      "average_precision": average_precision(labels, probs),
      "precision": tp / (tp + fp) if tp + fp else None,
      "recall": tp / (tp + fn) if tp + fn else None,
      "true_positives": tp, "false_positives": fp,
      "true_negatives": tn, "false_negatives": fn,
  }


def _confusion_at_thresholds(labels, probs, num_thresholds):
  """TP/FP/TN/FN at tf.metrics' thresholds (-eps, i/(n-1) ..., 1+eps), vectorised."""
  eps = 1e-7
  thresholds = np.concatenate([[-eps], np.arange(1, num_thresholds - 1) /
                               (num_thresholds - 1.0), [1.0 + eps]])
  # Count predictions strictly above each threshold via sorting.
  pos = np.sort(probs[labels])
  neg = np.sort(probs[~labels])
  tp = pos.size - np.searchsorted(pos, thresholds, side="right")
  fp = neg.size - np.searchsorted(neg, thresholds, side="right")
  fn = pos.size - tp
  tn = neg.size - fp
  return tp.astype(np.float64), fp.astype(np.float64), tn.astype(np.float64), fn.astype(np.float64)


def roc_auc(labels, probs, num_thresholds: int = 1000) -> float:
  """Trapezoidal ROC AUC over thresholds, as tf.metrics.auc."""
  tp, fp, tn, fn = _confusion_at_thresholds(np.asarray(labels, bool), np.asarray(probs),
                                            num_thresholds)
  eps = 1e-6
  tpr = (tp + eps) / (tp + fn + eps)
  fpr = fp / (fp + tn + eps)
  return float(np.sum((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2))


def pr_auc(labels, probs, num_thresholds: int = 1000) -> float:
  """Trapezoidal precision-recall AUC over thresholds."""
  tp, fp, _, fn = _confusion_at_thresholds(np.asarray(labels, bool), np.asarray(probs),
                                           num_thresholds)
  eps = 1e-6
  recall = (tp + eps) / (tp + fn + eps)
  precision = (tp + eps) / (tp + fp + eps)
  return float(np.sum((recall[:-1] - recall[1:]) * (precision[:-1] + precision[1:]) / 2))


def average_precision(labels, probs) -> float:
  """Mean over positives of the precision at their rank (ties broken stably)."""
  labels = np.asarray(labels, bool)
  if not labels.any():
    return float("nan")
  order = np.argsort(-np.asarray(probs, dtype=np.float64), kind="stable")
  hits = labels[order]
  precision_at_k = np.cumsum(hits) / np.arange(1, hits.size + 1)
  return float(np.mean(precision_at_k[hits]))


def sigmoid_cross_entropy(labels: np.ndarray, logits: np.ndarray) -> np.ndarray:
  """Per-example sigmoid cross-entropy, numerically stable (as TF's)."""
  logits = np.asarray(logits, dtype=np.float64)
  labels = np.asarray(labels, dtype=np.float64)
  return np.maximum(logits, 0) - logits * labels + np.log1p(np.exp(-np.abs(logits)))


# Thresholds of find_incorrect.py's and plot_roc.py's precision/recall table.
TABLE_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)


def _ratio(numerator: int, denominator: int) -> float | None:
  return numerator / denominator if denominator else None


def threshold_table(labels: np.ndarray, probabilities: np.ndarray,
                    thresholds=TABLE_THRESHOLDS,
                    is_pc: np.ndarray | None = None) -> list[dict]:
  """Precision, recall and specificity with `p >= t` called positive (find_incorrect.py).

  Returns one dict per threshold: threshold, tp, fp, tn, fn, precision,
  recall, specificity (None where the ratio is 0/0; the original raised
  ZeroDivisionError there) and, given `is_pc`, pcs_in_false_negatives
  (records with is_pc and p < t, as the original counted them).
  """
  labels = np.asarray(labels).astype(bool).ravel()
  probs = np.asarray(probabilities, dtype=np.float64).ravel()
  table = []
  for t in thresholds:
    called = probs >= t
    tp = int(np.sum(labels & called))
    fp = int(np.sum(~labels & called))
    fn = int(np.sum(labels & ~called))
    tn = int(np.sum(~labels & ~called))
    row = {"threshold": float(t), "tp": tp, "fp": fp, "tn": tn, "fn": fn,
           "precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn),
           "specificity": None if tn + fp == 0 else 1 - fp / (tn + fp)}
    if is_pc is not None:
      row["pcs_in_false_negatives"] = int(np.sum(np.asarray(is_pc, bool) & ~called))
    table.append(row)
  return table


def _counts_by_score(labels: np.ndarray, probabilities: np.ndarray):
  """(true positives, called positives) above each distinct score, highest first."""
  labels = np.asarray(labels).astype(bool).ravel()
  probs = np.asarray(probabilities, dtype=np.float64).ravel()
  order = np.argsort(-probs, kind="stable")
  probs, hits = probs[order], labels[order]
  last_of_run = np.r_[np.diff(probs) != 0, True]  # Ties move together.
  return np.cumsum(hits)[last_of_run], np.arange(1, hits.size + 1)[last_of_run], labels


def roc_curve(labels: np.ndarray, probabilities: np.ndarray):
  """Exact ROC curve: (false positive rate, true positive rate), both from 0 to 1."""
  tp, called, labels = _counts_by_score(labels, probabilities)
  tpr = np.r_[0.0, tp / max(labels.sum(), 1)]
  fpr = np.r_[0.0, (called - tp) / max((~labels).sum(), 1)]
  return fpr, tpr


def precision_recall_curve(labels: np.ndarray, probabilities: np.ndarray):
  """Exact precision-recall curve: (recall, precision) at each distinct score."""
  tp, called, labels = _counts_by_score(labels, probabilities)
  return tp / max(labels.sum(), 1), tp / called


def curve_area(x: np.ndarray, y: np.ndarray) -> float:
  """Trapezoidal area under y(x) (x ascending), e.g. the exact ROC AUC."""
  x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
  return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))


def _exact_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
  labels = np.asarray(labels, bool)
  if labels.all() or not labels.any():
    return None
  return curve_area(*roc_curve(labels, scores))


def multi_output_metrics(labels: np.ndarray, logits: np.ndarray) -> dict:
  """Metrics of a multi-class (labels [n] of ids) or multi-label (labels [n, k]) model.

  Multi-class: softmax probabilities, accuracy of the arg-max, one-vs-rest
  exact ROC AUC per class and their mean (classes present only), confusion
  matrix [true][predicted]. Multi-label: sigmoid per output, accuracy per
  output at 0.5, exact-match accuracy, ROC AUC per output and their mean.
  """
  logits = np.asarray(logits, np.float64)
  labels = np.asarray(labels)
  num_outputs = logits.shape[1]
  if labels.ndim == 1:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = shifted / shifted.sum(axis=1, keepdims=True)
    predicted = probs.argmax(axis=1)
    aucs = [_exact_auc(labels == k, probs[:, k]) for k in range(num_outputs)]
    confusion = np.zeros([num_outputs, num_outputs], int)
    np.add.at(confusion, (labels.astype(int), predicted), 1)
    present = [a for a in aucs if a is not None]
    return {"num_examples": int(labels.size),
            "accuracy": float(np.mean(predicted == labels)),
            "auc_per_class": aucs, "auc": float(np.mean(present)) if present else None,
            "confusion_matrix": confusion.tolist()}
  probs = 1 / (1 + np.exp(-logits))
  truth = labels.astype(bool)
  called = probs > 0.5
  aucs = [_exact_auc(truth[:, k], probs[:, k]) for k in range(num_outputs)]
  present = [a for a in aucs if a is not None]
  return {"num_examples": int(len(labels)),
          "accuracy": float(np.mean(np.all(called == truth, axis=1))),
          "accuracy_per_output": np.mean(called == truth, axis=0).tolist(),
          "auc_per_output": aucs, "auc": float(np.mean(present)) if present else None}
