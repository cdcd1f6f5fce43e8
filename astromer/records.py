"""Record writing for large light-curve sets, in the original library's format and layout.

Format (read back by `preprocessing.pretraining_records` / `make_pretraining(folder)`
and by the original library): one tf.train.SequenceExample per object, context
`id` (bytes), `label` (int64), `length` (int64); feature lists `dim_0` (time),
`dim_1` (magnitude), `dim_2` (error), each ONE float list holding the column.

Layout (`create_dataset`): target/{train,val,test}/<class>/chunk_<k>.record with
at most `max_lcs_per_record` objects per chunk, split per class with
`subsets_frac` = (train, val) fractions (test = the rest), plus objects.csv
(label, size). Curves are read and written one chunk at a time, so memory
stays bounded by one chunk whatever the set's size; each chunk is written to a
temporary file and renamed, so an interrupted run leaves no half chunk, and
chunks already there are kept (`overwrite=False`) so a rerun resumes.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from collections.abc import Sequence

import numpy as np
import tensorflow as tf
from absl import logging

from astromer import light_curves
from tf_util import atomic_io
from tf_util import errors


def sequence_example(oid: str, label: int, light_curve: np.ndarray) -> tf.train.SequenceExample:
  """The record of one (L, 3) light curve [time, magnitude, error]."""
  light_curve = np.asarray(light_curve, np.float32)
  if light_curve.ndim != 2 or light_curve.shape[1] != 3:
    raise ValueError("light curve {} must have shape (L, 3), got {}".format(
        oid, light_curve.shape))
  ex = tf.train.SequenceExample()
  ex.context.feature["id"].bytes_list.value.append(str(oid).encode())
  ex.context.feature["label"].int64_list.value.append(int(label))
  ex.context.feature["length"].int64_list.value.append(len(light_curve))
  for dim in range(3):
    ex.feature_lists.feature_list["dim_{}".format(dim)].feature.add().float_list.value.extend(
        light_curve[:, dim])
  return ex


def _load(curve):
  return curve() if callable(curve) else curve


def write_records(light_curves: Sequence, ids: Sequence, labels: Sequence | None, dest: str,
                  max_lcs_per_record: int = 100, overwrite: bool = False) -> list[str]:
  """Writes curves as dest/chunk_<k>.record, chunk k holding items k*max .. (k+1)*max - 1.

  Each element of `light_curves` is an (L, 3) array or a zero-argument callable
  returning one (so a large set is read one chunk at a time). A curve that
  cannot be read or has the wrong shape is logged and skipped; a chunk file
  already there is kept unless `overwrite` (its curves are not even read).
  Returns the chunk paths.
  """
  if len(light_curves) != len(ids):
    raise ValueError("{} light curves but {} ids".format(len(light_curves), len(ids)))
  labels = [-1] * len(ids) if labels is None else labels
  os.makedirs(dest, exist_ok=True)
  paths = []
  for index, start in enumerate(range(0, len(ids), max_lcs_per_record)):
    path = os.path.join(dest, "chunk_{}.record".format(index))
    paths.append(path)
    if os.path.exists(path) and not overwrite:
      logging.info("%s exists, kept", path)
      continue
    with atomic_io.atomic_path(path) as tmp, tf.io.TFRecordWriter(tmp) as writer:
      for i in range(start, min(start + max_lcs_per_record, len(ids))):
        try:
          ex = sequence_example(ids[i], labels[i], _load(light_curves[i]))
        except (errors.AstronetError, ValueError) as e:
          logging.warning("light curve %s skipped: %s", ids[i], e)
          continue
        writer.write(ex.SerializeToString())
  return paths


def is_safe_class_name(name) -> bool:
  """Whether a class label can be one folder name inside the output tree."""
  text = str(name)
  return bool(text.strip()) and not (
      "/" in text or "\\" in text or text.startswith(".") or "\x00" in text or
      os.path.isabs(text))


def create_dataset(meta_df, source: str, target: str, subsets_frac: tuple = (0.5, 0.25),
                   test_subset=None, max_lcs_per_record: int = 100, band: str | None = None,
                   seed: int | None = None,
                   reader: Callable[[str], np.ndarray] | None = None) -> dict:
  """Writes the original's train/val/test record tree from a metadata table.

  Args:
    meta_df: pandas DataFrame with columns ID, Class, Path (file name under
      `source`) and optionally Band.
    source: Folder of the light-curve files.
    target: Output folder.
    subsets_frac: (train, val) fractions per class; test is the rest.
    test_subset: Optional DataFrame of objects that form the test set (then
      the rest of each class goes to val).
    max_lcs_per_record: Objects per chunk file.
    band: Band to keep when meta_df holds several (the original asked on stdin).
    seed: Shuffle seed of the per-class split.
    reader: path -> (L, 3) array; default light_curves.read_csv_light_curve.

  Returns:
    {subset: number of objects written}.

  Raises:
    CatalogError: Missing columns, or several bands and no `band`.
  """
  reader = reader or light_curves.read_csv_light_curve
  missing = {"ID", "Class", "Path"} - set(meta_df.columns)
  if missing:
    raise errors.CatalogError("metadata lacks column(s) {}".format(sorted(missing)))
  if "Band" in meta_df.columns and meta_df["Band"].nunique() > 1:
    if band is None:
      raise errors.CatalogError("metadata holds bands {}: choose one with band=".format(
          sorted(meta_df["Band"].unique())))
    meta_df = meta_df[meta_df["Band"] == band]
  class_names = sorted(meta_df["Class"].unique())
  unsafe = [str(c) for c in class_names if not is_safe_class_name(c)]
  if unsafe:
    # Class names become folder names: '../x' would write outside `target`.
    raise errors.CatalogError(
        "metadata Class value(s) {} cannot name a folder (no '/', '\\', '..' or leading "
        "'.')".format(", ".join(repr(c) for c in unsafe[:10])))
  os.makedirs(target, exist_ok=True)
  with atomic_io.atomic_open(os.path.join(target, "objects.csv")) as f:
    writer = csv.writer(f)
    writer.writerow(["label", "size"])
    for name in class_names:
      writer.writerow([name, int((meta_df["Class"] == name).sum())])
  rng = np.random.default_rng(seed)
  written = {"train": 0, "val": 0, "test": 0}

  def write(frame, subset, class_name):
    paths = [os.path.join(source, os.path.basename(str(p))) for p in frame["Path"]]
    loaders = [lambda path=path: reader(path) for path in paths]
    write_records(loaders, [str(i) for i in frame["ID"]],
                  [class_names.index(class_name)] * len(frame),
                  os.path.join(target, subset, str(class_name)), max_lcs_per_record)
    written[subset] += len(frame)

  if test_subset is not None:
    for class_name, frame in test_subset.groupby("Class"):
      write(frame, "test", class_name)
  for class_name, frame in meta_df.groupby("Class"):
    frame = frame.iloc[rng.permutation(len(frame))]
    n_train, n_val = int(len(frame) * subsets_frac[0]), int(len(frame) * subsets_frac[1])
    if test_subset is not None:
      subsets = {"train": frame.iloc[:n_train], "val": frame.iloc[n_train:]}
    else:
      subsets = {"train": frame.iloc[:n_train], "val": frame.iloc[n_train:n_train + n_val],
                 "test": frame.iloc[n_train + n_val:]}
    for subset, part in subsets.items():
      if len(part):
        write(part, subset, class_name)
  return written
