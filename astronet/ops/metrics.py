"""Evaluation metrics of the Astronet classifiers, with the originals' rules.

The computations are tf_util.metrics' (shared by every model family); this
module fixes the rules of the originals' evaluate.py and adds the tables and
curves of find_incorrect.py / plot_roc.py. evaluate reports accuracy, auc,
loss, the confusion counts, precision, recall, PR-AUC and average precision:

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

from tf_util import metrics as shared_metrics


def binary_metrics(labels: np.ndarray, probabilities: np.ndarray,
                   num_thresholds: int = 1000, threshold: float = 0.5) -> dict:
  """Metrics of probabilities [n] against 0/1 labels [n], with the originals' rules:
  p > threshold is positive, undefined precision/recall are None, auc as tf.metrics.auc."""
  result = shared_metrics.binary_metrics(labels, probabilities, threshold,
                                         positive_at_threshold=False, undefined=None,
                                         auc_method="tf_metrics")
  return {
      "num_examples": result["num_examples"],
      "accuracy": result["accuracy"] if result["num_examples"] else 0.0,
      "auc": (result["auc"] if num_thresholds == 1000
              else roc_auc(labels, probabilities, num_thresholds)),
      "pr_auc": pr_auc(labels, probabilities, num_thresholds),
      "average_precision": result["average_precision"],
      "precision": result["precision"], "recall": result["recall"],
      "true_positives": result["true_positives"],
      "false_positives": result["false_positives"],
      "true_negatives": result["true_negatives"],
      "false_negatives": result["false_negatives"],
  }


def roc_auc(labels, probs, num_thresholds: int = 1000) -> float:
  """Trapezoidal ROC AUC over thresholds, as tf.metrics.auc."""
  return shared_metrics.roc_auc(labels, probs, "tf_metrics", num_thresholds)


pr_auc = shared_metrics.pr_auc
average_precision = shared_metrics.average_precision
sigmoid_cross_entropy = shared_metrics.sigmoid_cross_entropy


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
  auc = shared_metrics.roc_auc(labels, scores, "exact")
  return None if np.isnan(auc) else auc


def multi_output_metrics(labels: np.ndarray, probs: np.ndarray) -> dict:
  """Metrics of a multi-class (labels [n] of ids) or multi-label (labels [n, k]) model.

  Args:
    probs: [n, k] probabilities (tf_util.inference.probabilities): softmax for
      multi-class, sigmoid per output for multi-label.

  Multi-class: accuracy of the arg-max, one-vs-rest exact ROC AUC per class
  and their mean (classes present only), confusion matrix [true][predicted].
  Multi-label: accuracy per output at 0.5, exact-match accuracy, ROC AUC per
  output and their mean.
  """
  probs = np.asarray(probs, np.float64)
  labels = np.asarray(labels)
  num_outputs = probs.shape[1]
  if labels.ndim == 1:
    predicted = probs.argmax(axis=1)
    aucs = [_exact_auc(labels == k, probs[:, k]) for k in range(num_outputs)]
    confusion = np.zeros([num_outputs, num_outputs], int)
    np.add.at(confusion, (labels.astype(int), predicted), 1)
    present = [a for a in aucs if a is not None]
    return {"num_examples": int(labels.size),
            "accuracy": float(np.mean(predicted == labels)),
            "auc_per_class": aucs, "auc": float(np.mean(present)) if present else None,
            "confusion_matrix": confusion.tolist()}
  truth = labels.astype(bool)
  called = probs > 0.5
  aucs = [_exact_auc(truth[:, k], probs[:, k]) for k in range(num_outputs)]
  present = [a for a in aucs if a is not None]
  return {"num_examples": int(len(labels)),
          "accuracy": float(np.mean(np.all(called == truth, axis=1))),
          "accuracy_per_output": np.mean(called == truth, axis=0).tolist(),
          "auc_per_output": aucs, "auc": float(np.mean(present)) if present else None}
