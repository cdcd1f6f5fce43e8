"""Predictions of one model or an ensemble over TFRecords of TCEs.

Shared by batch_predict.py, find_incorrect.py and the ensemble export. A
"member" is one trained model: a model_dir written by train.py (config.json +
checkpoint), a model_dir of the ORIGINAL TF1 code (imported on the fly by
astronet.checkpoint_import), or a `.keras` file (a model.keras of train.py, which outputs
logits, or an ensemble exported by `batch_predict.py --export_ensemble`,
which outputs probabilities).

Averaging follows the originals: every member's per-record probability of a
key is appended to one list (member-major order) and the key's prediction is
`np.mean` of that float32 list; keys keep first-seen order.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from astronet.astro_model import configurations
from astronet.ops import dataset_ops
from astronet.ops import metrics
from astronet.ops import model_files
from astronet.ops import model_loading
from astronet.ops import record_arrays
from tf_util import errors
from tf_util import inference
from tf_util import metrics as shared_metrics

logger = logging.getLogger(__name__)

ENSEMBLE_OUTPUT = model_loading.ENSEMBLE_OUTPUT

# (star id, per-star TCE number, label) features of TESS and Kepler records.
TESS_KEYS = record_arrays.TESS_KEYS
KEPLER_KEYS = record_arrays.KEPLER_KEYS
# The records in memory, their NaN check and the originals' averaging live in the
# TensorFlow-free record_arrays (batch prediction with onnxruntime uses them too).
Records = record_arrays.Records
split_non_finite = record_arrays.split_non_finite
average_by_key = record_arrays.average_by_key
model_paths = model_files.model_paths


def record_keys(filenames: Sequence[str]) -> tuple[str, str, str]:
  """TESS_KEYS or KEPLER_KEYS, from the first record that holds an id feature.

  Raises:
    RecordFormatError: No record, or the first has neither tic_id nor kepid.
  """
  for filename in filenames:
    try:
      first = next(iter(tf.data.TFRecordDataset(filename).take(1)), None)
    except tf.errors.OpError as e:
      raise errors.RecordFormatError("Cannot read TFRecord file {}: {}".format(
          filename, e.message)) from None
    if first is None:
      continue
    names = tf.train.Example.FromString(first.numpy()).features.feature
    for keys in (TESS_KEYS, KEPLER_KEYS):
      if keys[0] in names:
        return keys
    raise errors.RecordFormatError(
        "Records of {} have neither tic_id nor kepid (features: {})".format(
            filename, sorted(names)))
  raise errors.RecordFormatError("No records in {}".format(", ".join(filenames)))


def read_records(filenames: Sequence[str], feature_lengths: Mapping[str, int],
                 batch_size: int = 1024) -> Records:
  """Reads the views and keys of every record of `filenames`.

  Raises:
    RecordFormatError: No records, a file is unreadable, or a record lacks a
      view or the id feature, or a view has another length than expected.
  """
  keys = record_keys(filenames)
  id_feature, sub_feature, label_feature = keys
  spec = {name: tf.io.FixedLenFeature([length], tf.float32)
          for name, length in feature_lengths.items()}
  spec[id_feature] = tf.io.FixedLenFeature([], tf.int64)
  spec[sub_feature] = tf.io.FixedLenFeature([], tf.int64, default_value=0)
  spec[label_feature] = tf.io.FixedLenFeature([], tf.string, default_value="")
  parts = []
  for file_number, filename in enumerate(filenames):
    dataset_ops.check_framing(filename)
    dataset = tf.data.TFRecordDataset(filename).batch(batch_size).map(
        lambda s: tf.io.parse_example(s, spec), num_parallel_calls=tf.data.AUTOTUNE)
    try:
      batches = [{k: v.numpy() for k, v in batch.items()} for batch in dataset]
    except tf.errors.DataLossError as e:
      raise errors.RecordFormatError(
          "{}: record {} is truncated or corrupt: {}".format(
              filename, _readable_count(filename), dataset_ops.op_error_reason(e))) from None
    except tf.errors.OpError as e:
      raise errors.RecordFormatError(
          "Cannot read the records of {} (expected views {}, and {} / {} / {}): {}".format(
              filename, dict(feature_lengths), id_feature, sub_feature, label_feature,
              e.message.splitlines()[0])) from None
    count = sum(len(b[id_feature]) for b in batches)
    parts.append((file_number, count, batches))
  def column(name, empty):
    arrays = [b[name] for _, _, batches in parts for b in batches]
    return np.concatenate(arrays) if arrays else empty
  views = {name: column(name, np.zeros([0, length], np.float32))
           for name, length in feature_lengths.items()}
  labels = np.array([s.decode("latin-1") for s in column(label_feature, np.zeros(0, object))],
                    dtype=object)
  return Records(
      filenames=list(filenames),
      file_index=np.concatenate([np.full(c, f, int) for f, c, _ in parts] or [np.zeros(0, int)]),
      record_index=np.concatenate([np.arange(c) for _, c, _ in parts] or [np.zeros(0, int)]),
      ids=column(id_feature, np.zeros(0, np.int64)),
      sub_ids=column(sub_feature, np.zeros(0, np.int64)), labels=labels, views=views, keys=keys)


def _readable_count(filename: str) -> int:
  """How many records of a damaged TFRecord file can be read before the damage."""
  count = 0
  try:
    for _ in tf.data.TFRecordDataset(filename):
      count += 1
  except tf.errors.OpError:
    pass
  return count


def check_records(records: Records, label_map: Mapping) -> None:
  """The checks of dataset_ops.validate_records on records already read: views
  with NaN / inf, labels outside `label_map`.

  Raises:
    RecordFormatError: Listing the records (file:index and the value).
  """
  _, non_finite = split_non_finite(records)
  bad_labels = ["{}:{} {}={!r}".format(records.filenames[records.file_index[i]],
                                       records.record_index[i], records.keys[2], label)
                for i, label in enumerate(records.labels) if label not in label_map]
  dataset_ops.raise_bad_records(non_finite, bad_labels, label_map)


@dataclasses.dataclass
class Member:
  """One model of an ensemble.

  Attributes:
    name: The model_dir or .keras path it came from.
    model: Keras model taking {feature name: float32 [batch, length]}.
    feature_lengths: {feature name: length} it expects.
    outputs_probability: True for an exported ensemble, False for logits.
  """
  name: str
  model: keras.Model
  feature_lengths: dict[str, int]
  outputs_probability: bool = False
  config: dict | None = None

  def outputs(self, views: Mapping[str, np.ndarray], batch_size: int = 256) -> np.ndarray:
    """float32 [n, output size] raw model outputs (logits, or probabilities)."""
    return inference.predict_arrays(
        self.model, {name: views[name] for name in self.feature_lengths}, batch_size)

  def probabilities(self, views: Mapping[str, np.ndarray],
                    batch_size: int = 256) -> np.ndarray:
    """float32 [n] probability of the positive class for each record."""
    out = self.outputs(views, batch_size)
    if self.outputs_probability:
      return out[:, 0]
    return inference.positive_class_probability(out)


def load_member(path: str, expected_model: str | None = None) -> Member:
  """A Member from any model form: a train.py model_dir, a model_dir of the
  ORIGINAL TF1 code, a .keras file (train.py's model.keras, an import, or an
  exported ensemble) or an exported SavedModel directory.

  Raises:
    CheckpointError: The path holds no model, a model of another family
      (no global_view / local_view inputs), or one that cannot be loaded.
  """
  model, config = model_loading.load_any(path, expected_model)
  lengths = {name: int(t.shape[-1]) for name, t in model_loading.named_inputs(model).items()}
  model_loading.check_astronet_inputs(path, lengths)
  if config is not None:
    lengths = configurations.feature_lengths(config)
  return Member(path, model, lengths,
                outputs_probability=model.layers[-1].name == ENSEMBLE_OUTPUT, config=config)


def label_inputs(member: Member) -> dict:
  """{label_feature, label_map} of a member: its config's, else its mission's (by view length)."""
  if member.config is not None:
    inputs = member.config["inputs"]
    return {"label_feature": inputs["label_feature"], "label_map": inputs["label_map"]}
  mission = configurations.mission_of(member.feature_lengths)
  if mission is not None:
    inputs = configurations.base(mission)["inputs"]
    return {"label_feature": inputs["label_feature"], "label_map": inputs["label_map"]}
  raise errors.CheckpointError("Cannot tell the mission (and labels) of {}: views {}".format(
      member.name, member.feature_lengths))


def evaluate_members(members: Sequence[Member], file_pattern: str,
                     batch_size: int = 256) -> dict:
  """Metrics of the mean probability of `members` on the records of `file_pattern`.

  For a single train.py model this equals evaluation.evaluate (same metrics);
  for .keras files, SavedModels and ensembles the labels follow the first
  member's config, or its mission's label map.

  Raises:
    RecordFormatError: Unreadable records, NaN views, labels outside the map.
  """
  label_map = label_inputs(members[0])["label_map"]
  records = read_records(dataset_ops.expand_file_pattern(file_pattern),
                         members[0].feature_lengths)
  if not len(records):
    raise errors.RecordFormatError("{} holds no records".format(file_pattern))
  check_records(records, label_map)
  labels = np.array([label_map[label] for label in records.labels], np.int64)
  probabilities = predict_members(members, records, batch_size).astype(np.float64).mean(axis=0)
  result = metrics.binary_metrics(labels, probabilities)
  result["loss"] = shared_metrics.binary_cross_entropy(labels, probabilities)
  result["cross_entropy"] = result["loss"]
  result["num_members"] = len(members)
  return result


def load_members(model_dir: str, average: bool,
                 expected_model: str | None = None) -> list[Member]:
  """Loads every member and checks they read the same features.

  Raises:
    CheckpointError: A member cannot be loaded, or members expect different
      features.
  """
  members = []
  for path in model_paths(model_dir, average):
    member = load_member(path, expected_model)
    logger.info("Loaded %s", path)
    if members and member.feature_lengths != members[0].feature_lengths:
      raise errors.CheckpointError(
          "{} reads {} but {} reads {}: ensemble members must share their "
          "inputs".format(path, member.feature_lengths, members[0].name,
                          members[0].feature_lengths))
    members.append(member)
  return members


def predict_members(members: Sequence[Member], records: Records,
                    batch_size: int = 256) -> np.ndarray:
  """float32 [num_members, num_records] probabilities."""
  if not members:
    raise ValueError("No members to predict with")
  return np.stack([m.probabilities(records.views, batch_size) for m in members])


def build_ensemble(members: Sequence[Member], name: str = "ensemble") -> keras.Model:
  """ONE Keras model whose output is the mean probability of `members`.

  Input: {feature name: float32 [batch, length]}; output float32 [batch, 1]
  from the layer named ENSEMBLE_OUTPUT. Exported ensembles can be members
  themselves (they are averaged as one model).
  """
  if not members:
    raise ValueError("An ensemble needs at least one member")
  lengths = members[0].feature_lengths
  inputs = {name_: keras.Input(shape=(length,), name=name_, dtype="float32")
            for name_, length in sorted(lengths.items())}
  outputs = []
  for i, member in enumerate(members):
    # A fresh functional wrapper gives each member a unique name in the graph.
    if len(member.model.outputs) != 1:
      raise ValueError("{} has {} outputs; an ensemble member needs one".format(
          member.name, len(member.model.outputs)))
    wrapped = keras.Model(member.model.inputs, member.model.outputs[0],
                          name="member_{}".format(i + 1))
    out = wrapped([inputs[k] for k in model_loading.named_inputs(member.model)])
    if out.shape[-1] != 1:
      raise ValueError("{} has {} outputs; only sigmoid (output_dim 1) models can be "
                       "exported as an ensemble".format(member.name, out.shape[-1]))
    if not member.outputs_probability:
      out = keras.layers.Activation("sigmoid", name="member_{}_sigmoid".format(i + 1))(out)
    outputs.append(out)
  if len(outputs) == 1:
    averaged = keras.layers.Identity(name=ENSEMBLE_OUTPUT)(outputs[0])
  else:
    averaged = keras.layers.Average(name=ENSEMBLE_OUTPUT)(outputs)
  return keras.Model(inputs, averaged, name=name)


def record_files(tfrecord_dir: str, pattern: str) -> list[str]:
  """Files `tfrecord_dir/pattern` (the originals' test globs), sorted."""
  return dataset_ops.expand_file_pattern(os.path.join(tfrecord_dir, pattern))
