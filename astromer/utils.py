"""Pretrained-weight lookup and download for ASTROMER (offline first).

`from_pretraining(name)` resolves the registered names (macho, atlas; ztfg is
registered as unavailable) through astronet.pretrained: $ASTRONET_PRETRAINED_DIR,
the user caches ($ASTROMER_WEIGHTS_DIR, else ~/.cache/astromer, under `name/`),
then the copy shipped with the package, each file checked against its sha256.
Other names are looked up in the cache and only then downloaded from
`WEIGHTS_URL.format(name)` into the cache. The original's URL for 'macho'
no longer resolves (renamed `macho_a0` upstream, same bytes); URL_NAMES maps it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile

from astronet import pretrained
from tf_util import errors

WEIGHTS_URL = "https://github.com/astromer-science/weights/raw/main/{}.zip"
URL_NAMES = {"macho": "macho_a0"}
PACKAGE_WEIGHTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pretrained")


def cache_dir() -> str:
  return os.environ.get("ASTROMER_WEIGHTS_DIR") or os.path.join(
      os.path.expanduser("~"), ".cache", "astromer")


def _weights_folder(root: str) -> str | None:
  """The folder under `root` holding conf.json and weights (zips unpack one level down)."""
  for folder, _, files in os.walk(root):
    if "conf.json" in files and ("weights.index" in files or "weights.h5" in files):
      return folder
  return None


# Known sha256 of the upstream weight archives; a download of a listed name must match.
WEIGHTS_SHA256: dict[str, str] = {}
# Upper bounds on what a weights archive may hold (the real ones are < 50 MB).
MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
CHECKSUM_FILE = "SHA256"


def _download(url: str, path: str, max_bytes: int) -> str:
  """Streams `url` into `path` (at most max_bytes); returns the sha256 of the bytes."""
  digest, size = hashlib.sha256(), 0
  with urllib.request.urlopen(url, timeout=60) as response, open(path, "wb") as f:
    for block in iter(lambda: response.read(1 << 20), b""):
      size += len(block)
      if size > max_bytes:
        raise errors.CheckpointError("{} is larger than {} bytes: not an ASTROMER weights "
                                     "archive".format(url, max_bytes))
      digest.update(block)
      f.write(block)
  return digest.hexdigest()


def safe_extract(archive: str, destination: str,
                 max_unpacked_bytes: int = MAX_UNPACKED_BYTES) -> None:
  """Extracts a zip after checking every member stays inside `destination` and the
  total unpacked size is bounded (no path traversal, no zip bomb).

  Raises:
    CheckpointError: A member with an absolute path or '..', or too many bytes.
  """
  with zipfile.ZipFile(archive) as z:
    members = z.infolist()
    total = sum(m.file_size for m in members)
    if total > max_unpacked_bytes:
      raise errors.CheckpointError("{} would unpack to {} bytes (limit {})".format(
          archive, total, max_unpacked_bytes))
    root = os.path.realpath(destination)
    for member in members:
      path = os.path.realpath(os.path.join(destination, member.filename))
      if member.filename.startswith(("/", "\\")) or not (
          path == root or path.startswith(root + os.sep)):
        raise errors.CheckpointError("{} holds an unsafe path {!r}".format(
            archive, member.filename))
    z.extractall(destination)


def download_weights(url: str, target: str, sha256: str | None = None) -> str:
  """Downloads a weights zip from `url` and unpacks it into `target`; returns the weights folder.

  The download is bounded (MAX_DOWNLOAD_BYTES), checked against `sha256` when
  one is known, and unpacked with `safe_extract`; its sha256 is kept in
  target/weights/SHA256.

  Raises:
    CheckpointError: The download failed, is too large, does not match
      `sha256`, or is not a zip of ASTROMER weights (the original saved an
      HTML 404 page and died with BadZipFile).
  """
  os.makedirs(target, exist_ok=True)
  with tempfile.TemporaryDirectory(dir=target, prefix=".tmp-") as tmp:
    archive = os.path.join(tmp, "weights.zip")
    try:
      digest = _download(url, archive, MAX_DOWNLOAD_BYTES)
    except (urllib.error.URLError, OSError) as e:
      raise errors.CheckpointError("Could not download ASTROMER weights from {}: {}".format(
          url, e)) from None
    if sha256 and digest != sha256:
      raise errors.CheckpointError("{}: sha256 {} does not match the expected {}".format(
          url, digest, sha256))
    if not zipfile.is_zipfile(archive):
      raise errors.CheckpointError("{} did not return a zip archive of weights ({} bytes); "
                                   "the name may not exist upstream".format(
                                       url, os.path.getsize(archive)))
    safe_extract(archive, os.path.join(tmp, "unpacked"))
    folder = _weights_folder(os.path.join(tmp, "unpacked"))
    if folder is None:
      raise errors.CheckpointError("{} holds no conf.json + weights".format(url))
    with open(os.path.join(folder, CHECKSUM_FILE), "w") as f:
      f.write("{}  {}\n".format(digest, url))
    final = os.path.join(target, "weights")
    if os.path.exists(final):
      shutil.rmtree(final)
    shutil.move(folder, final)
  return final


def pretrained_folder(name: str, download: bool = True) -> str:
  """The local folder of pretrained weights `name` (see module docstring).

  Raises:
    CheckpointError: Unknown / unavailable name (offline, or not upstream).
  """
  if not name or not isinstance(name, str):
    raise errors.CheckpointError("Pretrained weights name must be a string, got {!r}".format(name))
  entry = pretrained.entries().get(name)
  if entry is not None and entry.family == "astromer":
    # A registered name: the shared registry's lookup and sha256 checks.
    if not entry.unavailable:
      return pretrained.folder_of(name)
    for folder in pretrained.search_folders(name):
      if _weights_folder(folder):  # The user holds a copy of their own.
        return _weights_folder(folder)
    raise errors.CheckpointError("No pretrained ASTROMER weights {!r}: {}; looked in {}".format(
        name, entry.unavailable.split(";")[0], ", ".join(pretrained.search_folders(name))))
  bundled = os.path.join(PACKAGE_WEIGHTS, name)
  if _weights_folder(bundled):
    return _weights_folder(bundled)
  cached = os.path.join(cache_dir(), name)
  if _weights_folder(cached):
    return _weights_folder(cached)
  if not download:
    raise errors.CheckpointError("No pretrained ASTROMER weights {!r} in the package or in "
                                 "{}".format(name, cached))
  return download_weights(WEIGHTS_URL.format(URL_NAMES.get(name, name)), cached,
                          WEIGHTS_SHA256.get(name))
