"""Atomic, kill-safe file output and output-directory locks.

Every output is written to a temporary file beside the target and renamed
into place, so a job killed mid-write leaves the previous file or none, never
a truncated one (the originals wrote in place). Temporary names start with a
dot and hold ".tmp-<pid>", so no documented glob (`train*`, `*.keras`,
`model_*`, `chunk_*`) ever matches one; `remove_stale_temporaries` deletes
those of dead processes (a run killed with kill -9) when the next run starts.

`DirectoryLock` keeps two runs from writing the same output directory: the
second one stops with OutputBusyError naming the directory and the pid of the
first; the lock of a dead process is taken over.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
from collections.abc import Iterator
from typing import IO
from typing import Any

from tf_util import errors

TEMP_MARK = ".tmp-"
LOCK_FILE = ".lock"
_TEMP_NAME = re.compile(r"^\..*\.tmp-(\d+)")


def temporary_path(path: str) -> str:
  """A hidden per-process temporary name beside `path` that keeps its extension.

  'dir/model.keras' -> 'dir/.model.keras.tmp-123.keras' (Keras and other
  writers choose the format by the extension, which may be compound:
  'x.weights.h5' keeps '.weights.h5').
  """
  directory, name = os.path.split(path)
  stem = name.lstrip(".")
  ext = stem[stem.index("."):] if "." in stem else ""
  return os.path.join(directory, ".{}{}{}{}".format(name, TEMP_MARK, os.getpid(), ext))


def is_temporary(name: str) -> bool:
  """Whether a file name is one of temporary_path's."""
  return bool(_TEMP_NAME.match(os.path.basename(name)))


def _pid_alive(pid: int) -> bool:
  if pid <= 0:
    return False
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  return True


def remove_stale_temporaries(directory: str) -> list[str]:
  """Deletes the temporary files / folders of dead processes in `directory`; returns them."""
  removed = []
  if not os.path.isdir(directory):
    return removed
  for name in os.listdir(directory):
    match = _TEMP_NAME.match(name)
    if not match or _pid_alive(int(match.group(1))):
      continue
    path = os.path.join(directory, name)
    with contextlib.suppress(OSError):
      _remove(path)
      removed.append(path)
  return removed


def _remove(path: str) -> None:
  if os.path.isdir(path):
    shutil.rmtree(path, ignore_errors=True)
  elif os.path.lexists(path):
    os.remove(path)


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
  """Yields a temporary path; renames it to `path` if the block succeeds.

  The temporary file (or folder) is removed if the block fails, e.g. when
  the disk is full.
  """
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  tmp = temporary_path(path)
  try:
    yield tmp
    os.replace(tmp, path)
  finally:
    _remove(tmp)


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


def check_writable(directory: str) -> None:
  """Raises OutputError naming `directory` if files cannot be created in it.

  Called before the costly part of a job, so that a read-only or missing
  output location fails at once instead of after hours of work.
  """
  try:
    os.makedirs(directory, exist_ok=True)
    probe = temporary_path(os.path.join(directory, "probe"))
    with open(probe, "w"):
      pass
    os.remove(probe)
  except OSError as e:
    raise errors.OutputError("Cannot write into {}: {}".format(
        directory, e.strerror or e), directory) from None


class DirectoryLock:
  """An exclusive lock on an output directory: `directory/.lock` holding the pid.

  Use as a context manager around the writing of a run. A second run into the
  same directory raises OutputBusyError; a lock left by a killed process is
  taken over.
  """

  def __init__(self, directory: str):
    self.directory = directory
    self.path = os.path.join(directory, LOCK_FILE)
    self._held = False
    self._created = False

  def acquire(self) -> "DirectoryLock":
    # A run rejected after taking the lock leaves no empty directory behind.
    self._created = not os.path.isdir(self.directory)
    os.makedirs(self.directory, exist_ok=True)
    for _ in range(2):
      try:
        fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
      except FileExistsError:
        pid = self._owner()
        if pid is not None and pid != os.getpid() and _pid_alive(pid):
          raise errors.OutputBusyError(
              "{} is in use by another run (pid {}); wait for it to finish or use "
              "another output directory".format(self.directory, pid), self.directory) from None
        if pid == os.getpid():
          return self  # Re-entrant within one process.
        with contextlib.suppress(FileNotFoundError):
          os.remove(self.path)  # A dead process's lock.
        continue
      except OSError as e:
        if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
          raise errors.OutputError("Cannot write into {}: {}".format(
              self.directory, e.strerror), self.directory) from None
        raise
      with os.fdopen(fd, "w") as f:
        f.write(str(os.getpid()))
      self._held = True
      return self
    raise errors.OutputBusyError("Could not lock {}".format(self.directory), self.directory)

  def _owner(self) -> int | None:
    try:
      with open(self.path) as f:
        return int(f.read().strip() or -1)
    except (OSError, ValueError):
      return None

  def release(self) -> None:
    if self._held:
      with contextlib.suppress(FileNotFoundError):
        os.remove(self.path)
      self._held = False
      if self._created:
        with contextlib.suppress(OSError):
          os.rmdir(self.directory)  # only if empty

  def __enter__(self) -> "DirectoryLock":
    return self.acquire()

  def __exit__(self, *exc) -> None:
    self.release()
