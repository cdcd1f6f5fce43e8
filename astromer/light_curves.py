"""Labelled light-curve folders -> (L, 3) arrays [time (days), magnitude, error], ids, labels.

Two layouts are read:
* a folder of one-object CSV files (e.g. the Catalina / lsst-epo samples):
  the label is given by a labels CSV (`id,label`, id = file stem), else it is
  the file-name prefix before the trailing `_<id>` (`rr_lyrae_1001004012176.csv`
  -> class `rr_lyrae`, id `1001004012176`). Columns are found by name
  (time: MJD / mjd / time / t / hjd / bjd; magnitude: Mag / mag / magnitude;
  error: Magerr / magerr / errmag / err / error / mag_err), or taken as the
  first three columns of a file without a header;
* a record folder written by `astromer.records.create_dataset` (or the
  original library), through `preprocessing.pretraining_records`.

Rows with NaNs are dropped and the rows are sorted by time (the original's
create_dataset meant to sort but did not: it discarded `sort_values`'s result);
repeated rows are dropped.
"""

from __future__ import annotations

import csv
import glob
import os
import re

import numpy as np

from astromer import preprocessing
from tf_util import errors

TIME_COLUMNS = ("mjd", "time", "t", "hjd", "bjd", "jd")
MAG_COLUMNS = ("mag", "magnitude", "m")
ERR_COLUMNS = ("magerr", "errmag", "err", "error", "mag_err", "sigma", "e_mag")


def _column(header: list[str], names: tuple[str, ...], path: str, what: str) -> int:
  lowered = [h.strip().lower() for h in header]
  for name in names:
    if name in lowered:
      return lowered.index(name)
  raise errors.MissingFieldError(
      "{}: no {} column (looked for {}; header {})".format(path, what, ", ".join(names), header),
      path)


def read_csv_light_curve(path: str) -> np.ndarray:
  """One object's light curve from a CSV file as float64 (L, 3), sorted by time.

  Raises:
    LightCurveFileError: Unreadable file, missing columns or non-numeric values.
    EmptyLightCurveError: Fewer than 2 finite observations.
  """
  try:
    with open(path, newline="") as f:
      rows = [r for r in csv.reader(f) if r and not r[0].lstrip().startswith("#")]
  except (OSError, UnicodeDecodeError) as e:
    raise errors.LightCurveFileError("Cannot read {}: {}".format(path, e), path) from e
  if not rows:
    raise errors.EmptyLightCurveError("{} holds no rows".format(path))
  try:
    float(rows[0][0])
    columns, body = (0, 1, 2), rows
  except ValueError:
    header, body = rows[0], rows[1:]
    columns = (_column(header, TIME_COLUMNS, path, "time"),
               _column(header, MAG_COLUMNS, path, "magnitude"),
               _column(header, ERR_COLUMNS, path, "magnitude-error"))
  try:
    values = np.array([[float(r[c]) if r[c].strip() else np.nan for c in columns] for r in body],
                      dtype=np.float64).reshape(-1, 3)
  except (ValueError, IndexError) as e:
    raise errors.LightCurveFileError("{}: non-numeric or missing value ({})".format(path, e),
                                     path) from e
  values = values[np.isfinite(values).all(axis=1)]
  values = np.unique(values, axis=0)  # sorts rows by time first, drops exact repeats
  if len(values) < 2:
    raise errors.EmptyLightCurveError(
        "{} has {} finite observation(s); at least 2 are needed".format(path, len(values)))
  return values


def _read_labels_csv(path: str) -> dict[str, str]:
  with open(path, newline="") as f:
    reader = csv.DictReader(f)
    fields = [c.lower() for c in (reader.fieldnames or [])]
    if "id" not in fields or not ({"label", "class"} & set(fields)):
      raise errors.CatalogError("{}: needs columns id and label (or class), got {}".format(
          path, reader.fieldnames))
    key = {c.lower(): c for c in reader.fieldnames}
    label_key = key.get("label", key.get("class"))
    return {row[key["id"]].strip(): row[label_key].strip() for row in reader}


def read_labelled_folder(folder: str, labels_csv: str | None = None):
  """(curves, ids, labels (int, index into class_names), class_names) of a labelled folder.

  Class names are sorted, so labels are indices into np.unique(classes) as
  in the original's records.

  Raises:
    LightCurveFileError: No light curves there.
    CatalogError: A file without a label.
  """
  if not os.path.isdir(folder):
    raise errors.LightCurveFileError("{} is not a folder".format(folder), folder)
  files = sorted(glob.glob(os.path.join(folder, "*.csv")))
  if labels_csv is not None:
    labels_by_id = _read_labels_csv(labels_csv)
    files = [f for f in files if os.path.abspath(f) != os.path.abspath(labels_csv)]
  if not files:
    curves, ids, labels = preprocessing.pretraining_records(folder)
    names = [str(n) for n in sorted(set(labels))]
    return [np.asarray(c, np.float64) for c in curves], ids, np.asarray(
        [names.index(str(n)) for n in labels], np.int32), names
  curves, ids, classes = [], [], []
  for path in files:
    stem = os.path.splitext(os.path.basename(path))[0]
    if labels_csv is not None:
      if stem not in labels_by_id:
        raise errors.CatalogError("{}: no label for id {} in {}".format(path, stem, labels_csv))
      oid, name = stem, labels_by_id[stem]
    else:
      match = re.fullmatch(r"(.+?)_([^_]+)", stem)
      if match is None:
        raise errors.CatalogError(
            "{}: cannot take a class from the file name (expected <class>_<id>.csv); "
            "pass a labels CSV".format(path))
      name, oid = match.group(1), match.group(2)
    curves.append(read_csv_light_curve(path))
    ids.append(oid)
    classes.append(name)
  names = sorted(set(classes))
  return curves, ids, np.asarray([names.index(c) for c in classes], np.int32), names
