"""Pretrained-weight lookup and download for ASTROMER (offline first).

`from_pretraining(name)` looks, in order, in the weights shipped with the
package (macho), in the cache directory ($ASTROMER_WEIGHTS_DIR, else
~/.cache/astromer) under `name/`, and only then downloads
`WEIGHTS_URL.format(name)` into the cache. The original's URL for 'macho'
no longer resolves (renamed `macho_a0` upstream, same bytes); URL_NAMES maps it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile

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


def download_weights(url: str, target: str) -> str:
  """Downloads a weights zip from `url` and unpacks it into `target`; returns the weights folder.

  Raises:
    CheckpointError: The download failed or did not return a zip of ASTROMER
      weights (the original saved an HTML 404 page and died with BadZipFile).
  """
  os.makedirs(target, exist_ok=True)
  with tempfile.TemporaryDirectory(dir=target) as tmp:
    archive = os.path.join(tmp, "weights.zip")
    try:
      with urllib.request.urlopen(url, timeout=60) as response, open(archive, "wb") as f:
        shutil.copyfileobj(response, f)
    except (urllib.error.URLError, OSError) as e:
      raise errors.CheckpointError("Could not download ASTROMER weights from {}: {}".format(
          url, e)) from None
    if not zipfile.is_zipfile(archive):
      raise errors.CheckpointError("{} did not return a zip archive of weights ({} bytes); "
                                   "the name may not exist upstream".format(
                                       url, os.path.getsize(archive)))
    with zipfile.ZipFile(archive) as z:
      z.extractall(os.path.join(tmp, "unpacked"))
    folder = _weights_folder(os.path.join(tmp, "unpacked"))
    if folder is None:
      raise errors.CheckpointError("{} holds no conf.json + weights".format(url))
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
  bundled = os.path.join(PACKAGE_WEIGHTS, name)
  if _weights_folder(bundled):
    return _weights_folder(bundled)
  cached = os.path.join(cache_dir(), name)
  if _weights_folder(cached):
    return _weights_folder(cached)
  if not download:
    raise errors.CheckpointError("No pretrained ASTROMER weights {!r} in the package or in "
                                 "{}".format(name, cached))
  return download_weights(WEIGHTS_URL.format(URL_NAMES.get(name, name)), cached)
