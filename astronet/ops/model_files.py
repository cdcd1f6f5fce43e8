"""The models a --model_dir names (with --average: the members inside), without TensorFlow."""

from __future__ import annotations

import glob
import os
import re

from tf_util import errors
from tf_util import model_dir as model_dir_lib


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
               if (os.path.isdir(p) and os.path.exists(os.path.join(p, model_dir_lib.CONFIG_FILE)))
               or (os.path.isfile(p) and p.endswith(".keras"))]
    if not members:
      raise errors.CheckpointError(
          "--average: {} holds no model directories (subdirectories with {}) "
          "or .keras files".format(path, model_dir_lib.CONFIG_FILE))
    paths.extend(members)
  if not paths:
    raise errors.CheckpointError("No model given (--model_dir is empty)")
  return paths
