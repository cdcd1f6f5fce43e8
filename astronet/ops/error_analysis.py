"""Error analysis of predictions per TCE (find_incorrect.py): labels, means, misclassified TCEs."""

from __future__ import annotations

import numpy as np

from astronet.ops import prediction


def positive_labels(records) -> set[str]:
  """Label strings mapped to 1 by the mission's label map (PC, EB for TESS)."""
  return {label for label, value in records.mission.label_map.items() if value == 1}


def by_tce(records, probabilities: np.ndarray):
  """(keys, labels, mean p) per 'id-sub' TCE key, in first-seen order.

  A TCE's label is that of its last record (as the original's dict).
  """
  keys = records.tce_keys()
  means = prediction.average_by_key(keys, probabilities)
  label_of = dict(zip(keys, records.labels))
  ordered = list(means)
  return (ordered, [label_of[k] for k in ordered],
          np.array([means[k] for k in ordered], dtype=np.float32))


def format_table(table: list[dict]) -> list[str]:
  """The original's printout: specificity, then the threshold line."""
  show = lambda v: "undefined" if v is None else str(v)
  lines = []
  for row in table:
    lines.append(show(row["specificity"]))
    lines.append("Threshold %s: precision=%s, recall=%s. Number of PCs in FNs = %s" % (
        row["threshold"], show(row["precision"]), show(row["recall"]),
        row["pcs_in_false_negatives"]))
  return lines


def misclassified(labels, predictions, positive: set[str], dispositions, threshold: float):
  """Indices of TCEs whose label is in `dispositions` and that `threshold` misclassifies."""
  indices = []
  for i, (label, p) in enumerate(zip(labels, predictions)):
    if label in dispositions and (p < threshold) == (label in positive):
      indices.append(i)
  return indices
