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
import glob
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

from astronet.ops import dataset_ops
from astronet.ops import training
from astronet.util import config_util
from tf_util import errors

logger = logging.getLogger(__name__)

# Name of the output layer of an exported ensemble (it outputs probabilities).
ENSEMBLE_OUTPUT = "ensemble_probability"

# (star id, per-star TCE number, label) features of TESS and Kepler records.
TESS_KEYS = ("tic_id", "Sectors", "Disposition")
KEPLER_KEYS = ("kepid", "tce_plnt_num", "av_training_set")


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

  def tce_keys(self) -> list[str]:
    """'id-sector' (TESS) or 'kepid-planet' keys, as find_incorrect.py."""
    return ["{}-{}".format(i, s) for i, s in zip(self.ids, self.sub_ids)]

  def subset(self, mask: np.ndarray) -> "Records":
    return Records(self.filenames, self.file_index[mask], self.record_index[mask],
                   self.ids[mask], self.sub_ids[mask], self.labels[mask],
                   {k: v[mask] for k, v in self.views.items()}, self.keys)


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
    dataset = tf.data.TFRecordDataset(filename).batch(batch_size).map(
        lambda s: tf.io.parse_example(s, spec), num_parallel_calls=tf.data.AUTOTUNE)
    try:
      batches = [{k: v.numpy() for k, v in batch.items()} for batch in dataset]
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

  def outputs(self, views: Mapping[str, np.ndarray], batch_size: int = 256) -> np.ndarray:
    """float32 [n, output size] raw model outputs (logits, or probabilities)."""
    n = len(next(iter(views.values())))
    if n == 0:
      return np.zeros([0, int(self.model.outputs[0].shape[-1])], np.float32)
    predict = training.predict_function(self.model)
    dataset = tf.data.Dataset.from_tensor_slices(
        {name: views[name] for name in self.feature_lengths}).batch(batch_size)
    return np.concatenate([predict(batch).numpy() for batch in dataset])

  def probabilities(self, views: Mapping[str, np.ndarray],
                    batch_size: int = 256) -> np.ndarray:
    """float32 [n] probability of the positive class for each record."""
    out = self.outputs(views, batch_size)
    if self.outputs_probability:
      return out[:, 0]
    if out.shape[-1] == 1:
      return tf.sigmoid(out[:, 0]).numpy()
    return tf.nn.softmax(out, axis=-1).numpy()[:, 1]  # Positive class of a softmax model.


def _natural_key(path: str):
  return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path)]


def model_paths(model_dir: str, average: bool) -> list[str]:
  """Model directories / .keras files named by --model_dir and --average.

  `model_dir` is one path or a comma-separated list. With `average`, each
  path is a directory whose model subdirectories (holding config.json, in
  natural order: model_1, model_2, ..., model_10) or .keras files are the
  members. Unlike the original (which globbed `model_dir/*` and failed on any
  plain file there) other files are ignored.

  Raises:
    CheckpointError: A path does not exist or, with `average`, holds no model.
  """
  paths = []
  for path in [p for p in model_dir.split(",") if p]:
    if not os.path.exists(path):
      raise errors.CheckpointError("Model path {} does not exist".format(path))
    if not average:
      paths.append(path)
      continue
    members = [p for p in sorted(glob.glob(os.path.join(path, "*")), key=_natural_key)
               if (os.path.isdir(p) and os.path.exists(os.path.join(p, config_util.CONFIG_FILE)))
               or (os.path.isfile(p) and p.endswith(".keras"))]
    if not members:
      raise errors.CheckpointError(
          "--average: {} holds no model directories (subdirectories with {}) "
          "or .keras files".format(path, config_util.CONFIG_FILE))
    paths.extend(members)
  if not paths:
    raise errors.CheckpointError("No model given (--model_dir is empty)")
  return paths


def load_member(path: str, expected_model: str | None = None) -> Member:
  """A Member from a model_dir (config.json + checkpoint) or a .keras file."""
  if os.path.isfile(path) and path.endswith(".keras"):
    try:
      model = keras.models.load_model(path, compile=False)
    except (ValueError, OSError, TypeError) as e:
      raise errors.CheckpointError("Cannot load Keras model {}: {}".format(path, e)) from None
    lengths = {name: int(t.shape[-1]) for name, t in _named_inputs(model).items()}
    return Member(path, model, lengths,
                  outputs_probability=model.layers[-1].name == ENSEMBLE_OUTPUT)
  model, _, config = training.load_model(path, expected_model)
  return Member(path, model, training.feature_lengths(config))


def _named_inputs(model: keras.Model) -> dict:
  """{input name: KerasTensor} of a functional model, in its input order."""
  return {t.name: t for t in model.inputs}


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
    out = wrapped([inputs[k] for k in _named_inputs(member.model)])
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
