"""The originals' prediction files: prediction_{suffix}.txt and true_vs_pred_{suffix}.txt.

Written by batch_predict.py and find_incorrect.py, read by plot_roc.py, the
demo and the reproduction benchmarks.
"""

from __future__ import annotations

import numpy as np

from tf_util import atomic_io


def prediction_file_name(suffix: str) -> str:
  return "prediction_{}.txt".format(suffix)


def write_predictions(path: str, predictions: dict, per_tce: bool = False) -> None:
  """Writes {key: p} as the original's np.savetxt(fmt=['%d', '%4.3f']), atomically.

  Keys are star ids, or (id, sub_id) tuples with `per_tce`.
  """
  with atomic_io.atomic_open(path) as f:
    for key, p in predictions.items():
      if per_tce:
        f.write("%d %d %4.3f\n" % (key[0], key[1], float(p)))
      else:
        f.write("%d %4.3f\n" % (key, float(p)))


def read_predictions(path: str) -> dict:
  """{star id: p} from a prediction_{suffix}.txt (inverse of write_predictions)."""
  result = {}
  with open(path) as f:
    for line in f:
      fields = line.split()
      if len(fields) == 2:
        result[int(fields[0])] = float(fields[1])
      elif len(fields) == 3:
        result[(int(fields[0]), int(fields[1]))] = float(fields[2])
  return result


def true_vs_pred_file_name(suffix: str) -> str:
  return "true_vs_pred_{}.txt".format(suffix)


def write_true_vs_pred(path: str, is_positive: np.ndarray, predictions: np.ndarray) -> None:
  """The original's np.savetxt(fmt=['%f', '%4.3f']), atomically."""
  with atomic_io.atomic_open(path) as f:
    for truth, p in zip(is_positive, predictions):
      f.write("%f %4.3f\n" % (float(truth), float(p)))


def read_true_vs_pred(path: str) -> tuple[np.ndarray, np.ndarray]:
  """(is_positive bool [n], p float [n]) of a true_vs_pred_{suffix}.txt."""
  table = np.loadtxt(path, ndmin=2)
  if table.shape[1] != 2:
    raise ValueError("{}: expected 2 columns (true, predicted), got {}".format(
        path, table.shape[1]))
  return table[:, 0].astype(bool), table[:, 1]
