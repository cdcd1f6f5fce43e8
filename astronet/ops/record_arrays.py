"""TCE records in memory as numpy arrays, without TensorFlow.

`Records` (ids, labels, views of a set of TFRecord files), the check that
skips records whose views hold NaN, the originals' averaging of member
probabilities by key, and `read_records_local`, which reads local shards with
tf_util.tfrecord_io (no TensorFlow import: what batch prediction with
onnxruntime needs). astronet.ops.prediction reads the same Records with
tf.data (any file system) and re-exports these names.
"""

from __future__ import annotations

import dataclasses
import glob
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence

import numpy as np

from astronet import missions
from tf_util import errors
from tf_util import tfrecord_io

# (star id, per-star TCE number, label) features of TESS and Kepler records.
TESS_KEYS = missions.TESS.record_keys
KEPLER_KEYS = missions.KEPLER.record_keys


def expand_file_pattern(file_pattern: str) -> list[str]:
  """Files matching a glob or a comma-separated list of globs, in sorted order.

  Raises:
    LightCurveFileError: A pattern matches no file.
  """
  filenames = []
  for pattern in file_pattern.split(","):
    matches = sorted(glob.glob(pattern))
    if not matches:
      raise errors.LightCurveFileError(
          "Found no input files matching {}".format(pattern), pattern)
    filenames.extend(matches)
  return filenames


@dataclasses.dataclass
class Records:
  """TCE records read into memory.

  Attributes:
    filenames: Files read, in order.
    file_index: int [n] index into `filenames` of each record.
    record_index: int [n] position of each record in its file.
    ids: int64 [n] star id (tic_id / kepid).
    sub_ids: int64 [n] sector (TESS) or planet number (Kepler).
    labels: str [n] label strings (Disposition / av_training_set), "" if absent.
    views: {feature name: float32 [n, length]}.
    keys: TESS_KEYS or KEPLER_KEYS, the id / sub-id / label features read.
  """
  filenames: list[str]
  file_index: np.ndarray
  record_index: np.ndarray
  ids: np.ndarray
  sub_ids: np.ndarray
  labels: np.ndarray
  views: dict[str, np.ndarray]
  keys: tuple[str, str, str] = TESS_KEYS

  def __len__(self) -> int:
    return len(self.ids)

  @property
  def mission(self) -> missions.Mission:
    """The mission whose record features these are."""
    return missions.KEPLER if self.keys == missions.KEPLER.record_keys else missions.TESS

  def tce_keys(self) -> list[str]:
    """'id-sector' (TESS) or 'kepid-planet' keys, as find_incorrect.py."""
    return ["{}-{}".format(i, s) for i, s in zip(self.ids, self.sub_ids)]

  def subset(self, mask: np.ndarray) -> "Records":
    return Records(self.filenames, self.file_index[mask], self.record_index[mask],
                   self.ids[mask], self.sub_ids[mask], self.labels[mask],
                   {k: v[mask] for k, v in self.views.items()}, self.keys)


def split_non_finite(records: Records) -> tuple[Records, list[str]]:
  """(the records whose views are all finite, 'file:index (id)' of the others).

  A NaN in a view would give a NaN prediction; batch jobs log and skip those
  records instead.
  """
  finite = np.ones(len(records), bool)
  for view in records.views.values():
    finite &= np.isfinite(view).all(axis=1)
  bad = ["{}:{} ({} {})".format(records.filenames[records.file_index[i]],
                                records.record_index[i], records.keys[0], records.ids[i])
         for i in np.nonzero(~finite)[0]]
  return records.subset(finite), bad


def average_by_key(keys: Iterable, probabilities: np.ndarray) -> dict:
  """{key: mean probability} in first-seen key order.

  Args:
    keys: One key per record.
    probabilities: float32 [num_members, num_records].

  Returns:
    {key: float32 mean of all members' probabilities of all its records},
    computed as the originals: np.mean of the list member 0's values, then
    member 1's, ...
  """
  keys = list(keys)
  by_key: dict = {}
  for member_probs in np.asarray(probabilities):
    for key, p in zip(keys, member_probs):
      by_key.setdefault(key, []).append(p)
  return {key: np.mean(values) for key, values in by_key.items()}


def read_records_local(filenames: Sequence[str], feature_lengths: Mapping[str, int]) -> Records:
  """The views and keys of every record of local TFRecord files (as
  prediction.read_records, without TensorFlow).

  Raises:
    RecordFormatError: No records, an unreadable, truncated or corrupt file, a
      record without the id feature or a view, or a view of another length.
  """
  examples, file_index, record_index = [], [], []
  for number, filename in enumerate(filenames):
    parsed = tfrecord_io.parse_examples(tfrecord_io.read_records(filename), filename)
    examples += parsed
    file_index += [number] * len(parsed)
    record_index += list(range(len(parsed)))
  if not examples:
    raise errors.RecordFormatError("No records in {}".format(", ".join(filenames)))
  names = examples[0].features.feature
  keys = next((k for k in (TESS_KEYS, KEPLER_KEYS) if k[0] in names), None)
  if keys is None:
    raise errors.RecordFormatError("Records of {} have neither tic_id nor kepid (features: "
                                   "{})".format(filenames[0], sorted(names)))
  id_feature, sub_feature, label_feature = keys
  views = {name: np.zeros((len(examples), length), np.float32)
           for name, length in feature_lengths.items()}
  ids = np.zeros(len(examples), np.int64)
  sub_ids = np.zeros(len(examples), np.int64)
  labels = np.empty(len(examples), object)
  for i, example in enumerate(examples):
    where = "{}:{}".format(filenames[file_index[i]], record_index[i])
    star = tfrecord_io.int_feature(example, id_feature)
    if star is None:
      raise errors.RecordFormatError("{}: record has no {}".format(where, id_feature))
    ids[i] = star
    sub_ids[i] = tfrecord_io.int_feature(example, sub_feature, 0)
    labels[i] = tfrecord_io.bytes_feature(example, label_feature).decode("latin-1")
    for name, length in feature_lengths.items():
      values = tfrecord_io.float_feature(example, name)
      if values is None or len(values) != length:
        raise errors.RecordFormatError("{}: {} has {} values, the model expects {}".format(
            where, name, "no" if values is None else len(values), length))
      views[name][i] = values
  return Records(filenames=list(filenames), file_index=np.asarray(file_index, int),
                 record_index=np.asarray(record_index, int), ids=ids, sub_ids=sub_ids,
                 labels=labels, views=views, keys=keys)
