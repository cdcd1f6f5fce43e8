"""Atomic file output: write to a temporary file beside the target, then rename.

A job killed mid-write leaves either the previous file or none, never a
truncated one (the originals wrote in place).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from typing import IO, Any


def temporary_path(path: str) -> str:
  """A per-process temporary name beside `path` that keeps its extension."""
  root, ext = os.path.splitext(path)
  return "{}.tmp-{}{}".format(root, os.getpid(), ext)


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
  """Yields a temporary path; renames it to `path` if the block succeeds."""
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  tmp = temporary_path(path)
  try:
    yield tmp
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


@contextlib.contextmanager
def atomic_open(path: str, mode: str = "w") -> Iterator[IO[Any]]:
  """open() of a temporary file that replaces `path` when closed without error."""
  with atomic_path(path) as tmp:
    with open(tmp, mode) as f:
      yield f


def write_json(path: str, value: Any, **kwargs) -> None:
  """json.dump to `path` atomically (indent=1 unless given)."""
  kwargs.setdefault("indent", 1)
  with atomic_open(path) as f:
    json.dump(value, f, **kwargs)
