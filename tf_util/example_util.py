"""Helpers for reading and writing features of `tf.train.Example` protos.

Port of exoplanet-ml `tf_util/example_util.py` (same names): values are
stored as float_list (floats), int64_list (ints, bools) or bytes_list (str, bytes).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import tensorflow as tf

from tf_util import errors

def _feature_value(ex: tf.train.Example, name: str):
  if name not in ex.features.feature:
    raise errors.MissingFieldError(
        "Example has no feature {!r} (it has {})".format(
            name, sorted(ex.features.feature)), field=name)
  feature = ex.features.feature[name]
  kind = feature.WhichOneof("kind")
  return kind, getattr(feature, kind).value if kind else []


def get_feature(ex: tf.train.Example, name: str, kind: str | None = None,
                strict: bool = True):
  """Returns the values of feature `name` as a numpy array (bytes as a list).

  Args:
    ex: A tf.train.Example.
    name: Feature name.
    kind: Expected kind ("float_list", "int64_list", "bytes_list"); any if None.
    strict: Whether a kind mismatch is an error (else None is returned).

  Raises:
    MissingFieldError: The feature is absent.
    ValueError: strict and the feature has another kind.
  """
  actual_kind, values = _feature_value(ex, name)
  if kind is not None and actual_kind != kind:
    if strict:
      raise ValueError("Feature {!r} is a {}, expected {}".format(
          name, actual_kind, kind))
    return None
  if actual_kind == "bytes_list":
    return list(values)
  dtype = np.float32 if actual_kind == "float_list" else np.int64
  return np.array(values, dtype=dtype)


def get_float_feature(ex, name):
  return get_feature(ex, name, "float_list")


def get_int64_feature(ex, name):
  return get_feature(ex, name, "int64_list")


def get_bytes_feature(ex, name):
  return get_feature(ex, name, "bytes_list")


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
                      allow_overwrite: bool = False) -> None:
  _check_new(ex, name, allow_overwrite)
  ex.features.feature[name].bytes_list.value.extend(
      [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in value])


def set_feature(ex: tf.train.Example, name: str, value,
                allow_overwrite: bool = False) -> None:
  """Sets a feature, choosing its kind from the values' type.

  Floats -> float_list; ints and bools -> int64_list; str/bytes -> bytes_list.

  Raises:
    ValueError: Empty value list, or values of an unsupported type.
  """
  values = list(np.asarray(value).ravel()) if not isinstance(value, (list, tuple)) else list(value)
  if not values:
    raise ValueError("Feature {!r}: cannot infer the kind of an empty list".format(name))
  first = values[0]
  if isinstance(first, (str, bytes, np.str_, np.bytes_)):
    set_bytes_feature(ex, name, [str(v) if isinstance(v, np.str_) else v for v in values],
                      allow_overwrite)
  elif isinstance(first, (bool, np.bool_, int, np.integer)):
    set_int64_feature(ex, name, values, allow_overwrite)
  elif isinstance(first, (float, np.floating)):
    set_float_feature(ex, name, values, allow_overwrite)
  else:
    raise ValueError("Feature {!r}: unsupported value type {}".format(
        name, type(first).__name__))
