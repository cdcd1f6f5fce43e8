"""tf.data input pipeline over sharded TFRecords of Astronet examples.

Reads records written by the original exoplanet-ml / Astronet-Triage code and by
this package (same schema: float_list views, a bytes label). The pipeline
interleaves files in parallel, parses in parallel, optionally reverses the time
series (the original's augmentation), shuffles, batches and prefetches.

Each element is ``(features, labels)`` with ``features`` a dict
``{feature_name: float32 [batch, length]}`` (the input names of the Keras
models) and ``labels`` int32 [batch]; with ``include_labels=False`` only the
features dict.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping

import numpy as np
import tensorflow as tf

from astronet import missions
from astronet.astro_model import configurations
from astronet.ops import record_arrays
from tf_util import errors

# Label maps of the originals (astro_model.configurations): Kepler `av_training_set`
# (the DR24 training labels), TESS `Disposition`.
KEPLER_LABEL_MAP = missions.KEPLER.training_label_map
TESS_LABEL_MAP = missions.TESS.training_label_map


# Globs of record files (TensorFlow-free, in record_arrays; batch prediction with
# onnxruntime uses it without importing this module).
expand_file_pattern = record_arrays.expand_file_pattern


def multi_hot_matrix(label_map: Mapping) -> "np.ndarray | None":
  """float32 [num labels, num outputs] targets of a multi-label map, else None.

  A multi-label map gives each label string a list of 0/1 targets, e.g.
  {"PC": [1, 0], "EB": [1, 1], "J": [0, 0]}; a single-label map gives ids.
  """
  values = list(label_map.values())
  if not any(isinstance(v, (list, tuple)) for v in values):
    return None
  if not all(isinstance(v, (list, tuple)) and len(v) == len(values[0]) for v in values):
    raise ValueError("A multi-label label_map needs one equally long 0/1 list per "
                     "label, got {}".format(dict(label_map)))
  return np.array(values, dtype=np.float32)


def count_labels(file_pattern: str, label_feature: str) -> dict[str, int]:
  """{label string: number of records} over the files of `file_pattern`."""
  spec = {label_feature: tf.io.FixedLenFeature([], tf.string, default_value="")}
  dataset = tf.data.TFRecordDataset(expand_file_pattern(file_pattern)).batch(4096).map(
      lambda s: tf.io.parse_example(s, spec)[label_feature])
  counts: dict[str, int] = {}
  for batch in dataset:
    for label in batch.numpy():
      key = label.decode("latin-1")
      counts[key] = counts.get(key, 0) + 1
  return counts


def check_record_file(filename: str, features: Mapping[str, int],
                      label_feature: str | None = None) -> None:
  """Checks the first record of a file against the expected feature lengths.

  Raises:
    RecordFormatError: Unreadable record, missing feature or wrong length.
  """
  try:
    first = next(iter(tf.data.TFRecordDataset(filename).take(1)), None)
  except tf.errors.OpError as e:
    raise errors.RecordFormatError(
        "Cannot read TFRecord file {}: {}".format(filename, e.message)) from e
  if first is None:
    return  # Empty shards are legitimate (the original writes them).
  ex = tf.train.Example.FromString(first.numpy())
  for name, length in features.items():
    if name not in ex.features.feature:
      raise errors.RecordFormatError(
          "Record file {} has no feature {!r} (features: {})".format(
              filename, name, sorted(ex.features.feature)))
    actual = len(ex.features.feature[name].float_list.value)
    if actual != length:
      raise errors.RecordFormatError(
          "Record file {}: feature {!r} has length {}, the config expects {}".format(
              filename, name, actual, length))
  if label_feature and label_feature not in ex.features.feature:
    raise errors.RecordFormatError(
        "Record file {} has no label feature {!r}".format(filename, label_feature))


# How many culprits one RecordFormatError lists.
_MAX_LISTED = 10


def check_framing(filename: str) -> int:
  """Walks a TFRecord file's framing (length, crc, data, crc); returns the record count.

  TFRecordDataset reads a file cut inside a record header (fewer than 12
  bytes left) as a clean end of file, so a truncated copy would lose its
  last records silently; this catches that case.

  Raises:
    RecordFormatError: The file ends inside a record (names the file and the
      index of the incomplete record).
  """
  count = 0
  with tf.io.gfile.GFile(filename, "rb") as f:
    size = f.size()
    position = 0
    while position < size:
      header = f.read(12)
      if len(header) < 12:
        break
      (length,) = struct.unpack("<Q", header[:8])
      position += 12 + length + 4
      if position > size:
        break
      f.seek(position)
      count += 1
    if position != size:
      raise errors.RecordFormatError(
          "{}: record {} is truncated ({} records complete, the file ends inside the "
          "next)".format(filename, count, count))
  return count


def op_error_reason(e) -> str:
  """The useful part of a tf.errors.OpError message (tf.data wraps it in function names)."""
  text = e.message or str(e)
  found = re.search(r"(truncated record at \d+|corrupted record at \d+|[Dd]ata ?[Ll]oss[^\n]*)",
                    text)
  return found.group(1) if found else text.strip().splitlines()[0]


def validate_records(filenames: list[str], features: Mapping[str, int],
                     label_feature: str | None = None,
                     label_map: Mapping | None = None,
                     chunk_size: int = 2048) -> int:
  """Reads every record of `filenames` once and checks it; returns the record count.

  The tf.data pipeline would otherwise fail in the middle of training (a
  record truncated after the first one), or train and score on NaN (a view
  holding NaN or inf), or stop at an assertion that names no record (a label
  outside the label map).

  Raises:
    RecordFormatError: A file is truncated or corrupt (names the file and the
      index of the first unreadable record), records lack a feature or hold
      views of another length, views hold NaN / inf, or labels are not in
      `label_map` (lists the records, file:index and value).
  """
  spec = {name: tf.io.FixedLenFeature([length], tf.float32)
          for name, length in features.items()}
  if label_feature:
    spec[label_feature] = tf.io.FixedLenFeature([], tf.string, default_value="")
  bad_values, bad_labels, total = [], [], 0
  for filename in filenames:
    check_framing(filename)
    check_record_file(filename, features, label_feature if label_map else None)
    index, chunk = 0, []

    def check(chunk, first_index, filename=filename):
      try:
        parsed = tf.io.parse_example(tf.constant(chunk), spec)
      except tf.errors.InvalidArgumentError as e:
        raise errors.RecordFormatError(
            "{}: records {}-{} do not hold the features {} ({})".format(
                filename, first_index, first_index + len(chunk) - 1, dict(features),
                e.message.strip().splitlines()[0])) from None
      for name in features:
        finite = np.isfinite(parsed[name].numpy()).all(axis=1)
        for i in np.nonzero(~finite)[0]:
          bad_values.append("{}:{} ({})".format(filename, first_index + i, name))
      if label_map and label_feature:
        for i, label in enumerate(parsed[label_feature].numpy()):
          label = label.decode("latin-1")
          if label not in label_map:
            bad_labels.append("{}:{} {}={!r}".format(filename, first_index + i,
                                                      label_feature, label))

    try:
      for record in tf.data.TFRecordDataset(filename):
        chunk.append(record.numpy())
        index += 1
        if len(chunk) == chunk_size:
          check(chunk, index - len(chunk))
          chunk = []
    except tf.errors.OpError as e:
      raise errors.RecordFormatError(
          "{}: record {} is truncated or corrupt ({} records read before it): {}".format(
              filename, index, index, op_error_reason(e))) from None
    if chunk:
      check(chunk, index - len(chunk))
    total += index

  raise_bad_records(bad_values, bad_labels, label_map)
  return total


def raise_bad_records(bad_values: list[str], bad_labels: list[str],
                      label_map: Mapping | None) -> None:
  """One RecordFormatError listing the records with non-finite views, else those with
  labels outside `label_map` ('file:index ...' each, the first _MAX_LISTED); none if
  both lists are empty."""
  def listing(items):
    more = len(items) - _MAX_LISTED
    return ", ".join(items[:_MAX_LISTED]) + (" and {} more".format(more) if more > 0 else "")

  if bad_values:
    raise errors.RecordFormatError("{} record(s) hold NaN or inf in their views: {}".format(
        len(bad_values), listing(bad_values)))
  if bad_labels:
    raise errors.RecordFormatError(
        "{} record(s) have labels outside the label map {}: {}".format(
            len(bad_labels), sorted(label_map), listing(bad_labels)))


def build_dataset(file_pattern: str,
                  features: Mapping[str, int],
                  batch_size: int,
                  label_feature: str | None = None,
                  label_map: Mapping[str, int] | None = None,
                  include_labels: bool = True,
                  reverse_time_series_prob: float = 0.0,
                  shuffle_filenames: bool = False,
                  shuffle_values_buffer: int = 0,
                  repeat: int | None = 1,
                  seed: int | None = None) -> tf.data.Dataset:
  """Builds the input pipeline.

  Args:
    file_pattern: Glob, or comma-separated globs, of TFRecord files.
    features: {time-series feature name: length}, e.g. {"global_view": 201,
      "local_view": 61}.
    batch_size: Examples per batch (the last batch may be smaller).
    label_feature: Name of the bytes label feature ("av_training_set" for
      Kepler, "Disposition" for TESS).
    label_map: {label string: integer id}, ids 0..n-1; or, for multi-label
      models, {label string: list of 0/1 targets} (labels then float32
      [batch, num outputs]).
    include_labels: Whether to emit labels.
    reverse_time_series_prob: Probability of reversing all time series of an
      example (training augmentation).
    shuffle_filenames: Shuffle file order each epoch.
    shuffle_values_buffer: Shuffle buffer size (0 = no shuffling).
    repeat: Repetitions; None or -1 repeats forever.
    seed: Seed of shuffling and reversal.

  Returns:
    A tf.data.Dataset (see module docstring).

  Raises:
    LightCurveFileError: A pattern matches no file.
    RecordFormatError: First record of a file does not fit `features`.
    ValueError: Label ids are not contiguous from 0.
  """
  filenames = expand_file_pattern(file_pattern)
  multi_hot = None
  if include_labels:
    if not label_feature or not label_map:
      raise ValueError("include_labels needs label_feature and label_map")
    multi_hot = multi_hot_matrix(label_map)
    if multi_hot is None:
      label_ids = set(label_map.values())
      if label_ids != set(range(len(label_ids))):
        raise ValueError(
            "Label IDs must be contiguous integers starting at 0. Got: {}".format(
                label_ids))
    # Multi-label maps look up the row of the label in `multi_hot`.
    ids = list(range(len(label_map))) if multi_hot is not None else list(label_map.values())
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            list(label_map.keys()), ids, key_dtype=tf.string, value_dtype=tf.int32),
        default_value=-1)
  for filename in filenames:
    check_record_file(filename, features, label_feature if include_labels else None)

  spec = {name: tf.io.FixedLenFeature([length], tf.float32)
          for name, length in features.items()}
  if include_labels:
    spec[label_feature] = tf.io.FixedLenFeature([], tf.string)

  def parse(index, serialized):
    parsed = tf.io.parse_single_example(serialized, spec)
    series = {name: parsed[name] for name in features}
    if reverse_time_series_prob > 0:
      # Stateless draws keyed by the element index: reproducible under a seed
      # whatever the parallelism.
      draw = (tf.random.stateless_uniform(
          [], seed=tf.stack([tf.constant(seed, tf.int64), index]))
              if seed is not None else tf.random.uniform([], 0, 1))
      should_reverse = draw < reverse_time_series_prob
      series = {
          name: tf.cond(should_reverse, lambda v=v: tf.reverse(v, axis=[0]),
                        lambda v=v: v) for name, v in series.items()
      }
    if not include_labels:
      return series
    label_string = parsed[label_feature]
    label = table.lookup(label_string)
    tf.debugging.assert_non_negative(
        label, message="Unknown label string (not in label_map)")
    if multi_hot is not None:
      label = tf.gather(tf.constant(multi_hot), label)
    return series, label

  dataset = tf.data.Dataset.from_tensor_slices(filenames)
  if shuffle_filenames:
    dataset = dataset.shuffle(len(filenames), seed=seed)
  dataset = dataset.interleave(
      tf.data.TFRecordDataset,
      cycle_length=min(len(filenames), 8),
      num_parallel_calls=tf.data.AUTOTUNE,
      deterministic=True)
  if shuffle_values_buffer > 0:
    dataset = dataset.shuffle(shuffle_values_buffer, seed=seed)
  if repeat != 1:
    dataset = dataset.repeat(None if repeat in (None, -1) else repeat)
  dataset = dataset.enumerate().map(parse, num_parallel_calls=tf.data.AUTOTUNE)
  return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def make_dataset(config: Mapping, file_pattern: str, training: bool,
                 batch_size: int | None = None, shuffle_buffer_size: int = 15000,
                 seed: int | None = None, include_labels: bool = True) -> tf.data.Dataset:
  """The input pipeline of the originals: reversal (p = 0.5) and shuffling when training."""
  inputs = config["inputs"]
  return build_dataset(
      file_pattern, configurations.feature_lengths(config),
      batch_size=batch_size or int(config["hparams"]["batch_size"]),
      label_feature=inputs["label_feature"], label_map=inputs["label_map"],
      include_labels=include_labels,
      reverse_time_series_prob=0.5 if training else 0.0,
      shuffle_filenames=training,
      shuffle_values_buffer=shuffle_buffer_size if training else 0,
      repeat=None if training else 1, seed=seed)
