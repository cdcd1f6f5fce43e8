"""Window- and event-level metrics of flare detection.

Window level: accuracy, precision, recall, F1 at a threshold, ROC-AUC
(rank statistic, ties averaged), average precision.
Event level (comparable across window lengths): per-cadence probabilities of a
whole light curve -> intervals of consecutive cadences above threshold (joined
across gaps of <= `join` cadences); a catalogued flare is recovered when an
interval covers its peak time (within half a cadence); an interval covering no
catalogued peak is a false (or uncatalogued) detection.
"""

from __future__ import annotations

import numpy as np

HALF_CADENCE = 1.0 / 60 / 24  # days


def roc_auc(labels, scores) -> float:
  """Area under the ROC curve (NaN when only one class is present)."""
  from scipy import stats  # pylint: disable=import-outside-toplevel
  labels = np.asarray(labels).astype(bool)
  n_pos, n_neg = labels.sum(), (~labels).sum()
  if not n_pos or not n_neg:
    return float("nan")
  ranks = stats.rankdata(np.asarray(scores, np.float64))
  return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(labels, scores) -> float:
  labels = np.asarray(labels).astype(bool)
  if not labels.any():
    return float("nan")
  order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
  hits = labels[order]
  precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
  return float(np.sum(precision[hits]) / hits.sum())


def binary_metrics(labels, probabilities, threshold: float = 0.5) -> dict:
  """{"accuracy", "precision", "recall", "f1", "roc_auc", "average_precision", "count",
  "positives"} (precision / recall / F1 are 0 when undefined)."""
  labels = np.asarray(labels).astype(bool)
  predicted = np.asarray(probabilities) >= threshold
  tp = int(np.sum(predicted & labels))
  fp = int(np.sum(predicted & ~labels))
  fn = int(np.sum(~predicted & labels))
  precision = tp / (tp + fp) if tp + fp else 0.0
  recall = tp / (tp + fn) if tp + fn else 0.0
  f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
  return {"accuracy": float(np.mean(predicted == labels)) if len(labels) else float("nan"),
          "precision": precision, "recall": recall, "f1": f1,
          "roc_auc": roc_auc(labels, probabilities),
          "average_precision": average_precision(labels, probabilities),
          "count": int(len(labels)), "positives": int(labels.sum())}


def binary_cross_entropy(labels, probabilities) -> float:
  p = np.clip(np.asarray(probabilities, np.float64), 1e-7, 1 - 1e-7)
  y = np.asarray(labels, np.float64)
  return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def intervals(time: np.ndarray, probability: np.ndarray, threshold: float = 0.5,
              join: int = 3, flux: np.ndarray | None = None) -> list[dict]:
  """Merged above-threshold intervals: [{"start_time", "end_time", "peak_time",
  "max_probability"}] (peak = brightest cadence inside when flux is given, else the most
  probable one). NaN probabilities count as below threshold."""
  above = np.nan_to_num(np.asarray(probability, np.float64), nan=-1.0) >= threshold
  index = np.nonzero(above)[0]
  if not index.size:
    return []
  breaks = np.nonzero(np.diff(index) > join + 1)[0]
  starts = np.concatenate([[index[0]], index[breaks + 1]])
  stops = np.concatenate([index[breaks], [index[-1]]])
  out = []
  for a, b in zip(starts, stops):
    inside = slice(a, b + 1)
    score = np.nan_to_num(probability[inside], nan=-1.0)
    peak = a + int(np.argmax(flux[inside] if flux is not None else score))
    out.append({"start_time": float(time[a]), "end_time": float(time[b]),
                "peak_time": float(time[peak]), "max_probability": float(score.max())})
  return out


def event_metrics(detected: list[dict], catalog_peaks) -> dict:
  """Event-level recall / precision of detected intervals against catalogued peak times."""
  peaks = np.asarray(catalog_peaks, np.float64)
  found = np.zeros(len(peaks), bool)
  true_intervals = 0
  for interval in detected:
    covers = (peaks >= interval["start_time"] - HALF_CADENCE) & (
        peaks <= interval["end_time"] + HALF_CADENCE)
    found |= covers
    true_intervals += bool(covers.any())
  n = len(detected)
  recall = float(found.mean()) if len(peaks) else float("nan")
  precision = true_intervals / n if n else float("nan")
  f1 = (2 * precision * recall / (precision + recall)
        if n and len(peaks) and precision + recall else 0.0)
  return {"catalog_flares": int(len(peaks)), "recovered": int(found.sum()),
          "detections": n, "false_or_uncatalogued": n - true_intervals,
          "recall": recall, "precision": precision, "f1": f1}
