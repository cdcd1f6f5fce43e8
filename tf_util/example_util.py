"""Helpers for reading and writing features of `tf.train.Example` protos.

Port of exoplanet-ml `tf_util/example_util.py` (same names): values are
stored as float_list (floats), int64_list (ints, bools) or bytes_list (str, bytes).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import tensorflow as tf

from tf_util import errors


def get_feature(ex: tf.train.Example, name: str, kind: str | None = None,
                strict: bool = True) -> np.ndarray:
  """The values of feature `name` as a numpy array (the original's semantics).

  Args:
    ex: A tf.train.Example.
    name: Feature name.
    kind: Expected kind ("float_list", "int64_list", "bytes_list"); any if None.
    strict: Whether a missing feature is an error (else an empty array).

  Returns:
    float32, int64 or bytes (object) array; an empty array for a feature
    with no values (of any kind).

  Raises:
    MissingFeatureError (a KeyError): The feature is absent and `strict`.
    TypeError: The feature holds values of another kind than `kind`.
  """
  if name not in ex.features.feature:
    if strict:
      raise errors.MissingFeatureError(
          "Example has no feature {!r} (it has {})".format(name, sorted(ex.features.feature)))
    return np.array([])
  feature = ex.features.feature[name]
  actual_kind = feature.WhichOneof("kind")
  if actual_kind is None:
    return np.array([])
  if kind is not None and actual_kind != kind:
    raise TypeError("Feature {!r} is a {}, not a {}".format(name, actual_kind, kind))
  values = getattr(feature, actual_kind).value
  if actual_kind == "bytes_list":
    return np.array(list(values), dtype=object)
  return np.array(values, dtype=np.float32 if actual_kind == "float_list" else np.int64)


def get_float_feature(ex: tf.train.Example, name: str, strict: bool = True) -> np.ndarray:
  return get_feature(ex, name, "float_list", strict)


def get_int64_feature(ex: tf.train.Example, name: str, strict: bool = True) -> np.ndarray:
  return get_feature(ex, name, "int64_list", strict)


def get_bytes_feature(ex: tf.train.Example, name: str, strict: bool = True) -> np.ndarray:
  return get_feature(ex, name, "bytes_list", strict)


def _check_new(ex, name, allow_overwrite):
  if name in ex.features.feature:
    if not allow_overwrite:
      raise ValueError(
          "Attempting to overwrite feature {!r} without allow_overwrite".format(name))
    ex.features.feature[name].Clear()


def set_float_feature(ex: tf.train.Example, name: str, value: Iterable[float],
                      allow_overwrite: bool = False) -> None:
  _check_new(ex, name, allow_overwrite)
  ex.features.feature[name].float_list.value.extend(
      np.asarray(value, dtype=np.float32).ravel().tolist())


def set_int64_feature(ex: tf.train.Example, name: str, value: Iterable[int],
                      allow_overwrite: bool = False) -> None:
  _check_new(ex, name, allow_overwrite)
  ex.features.feature[name].int64_list.value.extend(
      np.asarray(value, dtype=np.int64).ravel().tolist())


def set_bytes_feature(ex: tf.train.Example, name: str, value: Iterable,
                      allow_overwrite: bool = False,
                      bytes_encoding: str = "latin-1") -> None:
  """Sets a bytes_list feature; str values are encoded with `bytes_encoding`.

  latin-1 is the originals' codec; text it cannot encode falls back to utf-8.
  """
  _check_new(ex, name, allow_overwrite)
  ex.features.feature[name].bytes_list.value.extend(
      [_encode(v, bytes_encoding) for v in value])


def _encode(value, encoding: str) -> bytes:
  if isinstance(value, (bytes, np.bytes_)):
    return bytes(value)
  text = str(value)
  try:
    return text.encode(encoding)
  except UnicodeEncodeError:
    return text.encode("utf-8")


def infer_kind(value) -> str:
  """The originals' rule for the kind of a feature from its first value.

  Integers (numpy or Python, not bool) -> "int64_list"; anything `float()`
  accepts (floats, bools, numeric strings such as "0.01") -> "float_list";
  everything else (e.g. "?.01", "PC") -> "bytes_list".
  """
  first = value[0]
  if np.issubdtype(type(first), np.integer):
    return "int64_list"
  try:
    float(first)
    return "float_list"
  except (TypeError, ValueError):
    return "bytes_list"


_SETTERS = {
    "float_list": set_float_feature,
    "int64_list": set_int64_feature,
}


def set_feature(ex: tf.train.Example, name: str, value, kind: str | None = None,
                allow_overwrite: bool = False,
                bytes_encoding: str = "latin-1") -> None:
  """Sets a feature, inferring its kind as exoplanet-ml's `set_feature` did.

  Args:
    ex: A tf.train.Example.
    name: Feature name.
    value: Sequence of values.
    kind: "bytes_list", "float_list" or "int64_list"; `infer_kind` if None.
    allow_overwrite: Whether an existing feature may be replaced.
    bytes_encoding: Codec of str values stored as bytes.

  Raises:
    ValueError: Empty value list, unknown kind, or existing feature.
  """
  values = list(value) if isinstance(value, (list, tuple)) else list(
      np.asarray(value).ravel())
  if not values:
    raise ValueError(
        "Feature {!r}: cannot infer the kind of an empty list".format(name))
  kind = kind or infer_kind(values)
  if kind == "bytes_list":
    set_bytes_feature(ex, name, values, allow_overwrite, bytes_encoding)
  elif kind in _SETTERS:
    _SETTERS[kind](ex, name, [float(v) if kind == "float_list" else int(v)
                              for v in values], allow_overwrite)
  else:
    raise ValueError("Feature {!r}: unrecognised kind {!r}".format(name, kind))
