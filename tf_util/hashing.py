"""Content digests of input files, for caches and output manifests.

A cache keyed on file name and size would silently reuse stale results after
a file is replaced by another of the same size; these keys use the bytes.
"""

from __future__ import annotations

import hashlib
import os

_DIGESTS: dict[tuple, str] = {}


def file_digest(path: str) -> str:
  """sha256 (hex) of a file's bytes, memoised per (path, mtime, size) within a process."""
  stat = os.stat(path)
  key = (os.path.abspath(path), stat.st_mtime_ns, stat.st_size)
  digest = _DIGESTS.get(key)
  if digest is None:
    h = hashlib.sha256()
    with open(path, "rb") as f:
      for block in iter(lambda: f.read(1 << 20), b""):
        h.update(block)
    digest = _DIGESTS[key] = h.hexdigest()
  return digest
