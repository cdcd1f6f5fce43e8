"""Astronet models run with onnxruntime: batch prediction without importing TensorFlow.

A member's `.keras` file is converted once (tf2onnx, through Keras' ONNX
export) into ONE probability model — the member wrapped as
prediction.build_ensemble does, so a logit model gains its sigmoid — and
cached as $XDG_CACHE_HOME (or ~/.cache)/astronet/onnx/<sha256 of the .keras
file>.onnx, with the member's source and view lengths in its metadata. Later
runs load the cached file with onnxruntime (0.2 s) instead of TensorFlow and
Keras (several seconds), which is most of a batch-prediction job's time.

Converting imports TensorFlow (the first run of a model pays for it); running
does not. The outputs agree with the TensorFlow path to float32 rounding
(tested ≤ 1e-5 on the real Triage test shard).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from collections.abc import Sequence

import numpy as np

from tf_util import atomic_io
from tf_util import errors
from tf_util import hashing

METADATA_KEY = "astronet_member"


def available() -> bool:
  """True when onnxruntime imports (the optional extra `onnx`)."""
  try:
    import onnxruntime  # noqa: F401, PLC0415  (optional extra `onnx`)
  except ImportError:
    return False
  return True


def cache_dir() -> str:
  base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
  return os.path.join(base, "astronet", "onnx")


def cached_path(model_file: str) -> str:
  """Where the converted model of a .keras file is cached (named by its sha256)."""
  return os.path.join(cache_dir(), hashing.file_digest(model_file) + ".onnx")


def convertible(model_file: str) -> bool:
  """Whether this backend takes the model form: a .keras file."""
  return os.path.isfile(model_file) and model_file.endswith(".keras")


def convert(model_file: str) -> str:
  """Converts a .keras member to its cached ONNX probability model; returns the path.

  Imports TensorFlow, Keras, tf2onnx and onnx.

  Raises:
    CheckpointError: Not an Astronet model, or a model with several outputs.
  """
  # pylint: disable=import-outside-toplevel
  import onnx  # noqa: PLC0415  (optional extra `onnx`)

  from astronet.ops import prediction  # noqa: PLC0415  (TensorFlow: only conversion needs it)
  member = prediction.load_member(model_file)
  try:
    model = prediction.build_ensemble([member], name="astronet_onnx")
  except ValueError as e:
    raise errors.CheckpointError("{} cannot run with onnxruntime: {}".format(model_file,
                                                                            e)) from None
  # Keras exports only a model that has been called.
  model({name: np.zeros((1, length), np.float32)
         for name, length in member.feature_lengths.items()})
  path = cached_path(model_file)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with atomic_io.atomic_path(path) as tmp:
    model.export(tmp, format="onnx", verbose=False)
    proto = onnx.load(tmp)
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(
        {"source": os.path.abspath(model_file), "feature_lengths": member.feature_lengths})
    onnx.save(proto, tmp)
  return path


@dataclasses.dataclass
class OnnxMember:
  """One member as an onnxruntime session: views -> probability [n, 1]."""
  name: str
  session: object
  feature_lengths: dict[str, int]

  def probabilities(self, views: Mapping[str, np.ndarray], batch_size: int = 256) -> np.ndarray:
    """float32 [n] probability of the positive class for each record."""
    n = len(next(iter(views.values())))
    out = []
    for start in range(0, n, batch_size):
      feed = {name: np.ascontiguousarray(views[name][start:start + batch_size], np.float32)
              for name in self.feature_lengths}
      out.append(self.session.run(None, feed)[0].reshape(-1))
    return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)


def load_member(model_file: str, convert_missing: bool = True) -> OnnxMember | None:
  """The member of a .keras file from the ONNX cache (converted first when missing and
  `convert_missing`; else None)."""
  import onnxruntime  # noqa: PLC0415  (optional extra `onnx`)
  path = cached_path(model_file)
  if not os.path.exists(path):
    if not convert_missing:
      return None
    convert(model_file)
  options = onnxruntime.SessionOptions()
  options.log_severity_level = 3
  try:
    session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
  except Exception as e:  # onnxruntime's own exceptions  # pylint: disable=broad-except
    raise errors.CheckpointError("Cannot load the cached ONNX model {} of {}: {} (delete it "
                                 "to convert again)".format(path, model_file, e)) from None
  meta = json.loads(session.get_modelmeta().custom_metadata_map.get(METADATA_KEY, "{}"))
  lengths = {k: int(v) for k, v in (meta.get("feature_lengths") or {
      i.name: i.shape[-1] for i in session.get_inputs()}).items()}
  return OnnxMember(model_file, session, lengths)


def load_members(model_files: Sequence[str], convert_missing: bool = True
                 ) -> list[OnnxMember] | None:
  """Every member (None when one is not cached and not `convert_missing`).

  Raises:
    CheckpointError: A member that is not a .keras file, or members that read
      different views.
  """
  members = []
  for model_file in model_files:
    if not convertible(model_file):
      raise errors.CheckpointError("--backend=onnx takes .keras models (and --pretrained "
                                   "names); {} is not one".format(model_file))
    member = load_member(model_file, convert_missing)
    if member is None:
      return None
    if members and member.feature_lengths != members[0].feature_lengths:
      raise errors.CheckpointError("{} reads {} but {} reads {}: ensemble members must share "
                                   "their inputs".format(model_file, member.feature_lengths,
                                                         members[0].name,
                                                         members[0].feature_lengths))
    members.append(member)
  return members


def predict_members(members: Sequence[OnnxMember], views: Mapping[str, np.ndarray],
                    batch_size: int = 256) -> np.ndarray:
  """float32 [num_members, num_records] probabilities."""
  return np.stack([m.probabilities(views, batch_size) for m in members])
