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

from tf_util import metrics as shared_metrics

HALF_CADENCE = 1.0 / 60 / 24  # days


def roc_auc(labels, scores) -> float:
  """Area under the ROC curve (NaN when only one class is present)."""
  return shared_metrics.roc_auc(labels, scores, "exact")


average_precision = shared_metrics.average_precision
binary_cross_entropy = shared_metrics.binary_cross_entropy


def binary_metrics(labels, probabilities, threshold: float = 0.5) -> dict:
  """{"accuracy", "precision", "recall", "f1", "roc_auc", "average_precision", "count",
  "positives"}: p >= threshold is a flare; precision / recall / F1 are 0 when undefined."""
  result = shared_metrics.binary_metrics(labels, probabilities, threshold,
                                         positive_at_threshold=True, undefined=0.0,
                                         auc_method="exact")
  return {"accuracy": result["accuracy"], "precision": result["precision"],
          "recall": result["recall"], "f1": result["f1"], "roc_auc": result["auc"],
          "average_precision": result["average_precision"],
          "count": result["num_examples"], "positives": result["positives"]}


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
