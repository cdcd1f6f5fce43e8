r"""Trained models that ship with the project, by name: one registry for every family.

  python -m astronet.pretrained list            # name, family, task, size, test metrics
  python -m astronet.pretrained verify [NAME]   # every file present, sha256 as registered
  python -m astronet.pretrained card NAME       # the model card (JSON)

From Python:

  model, card = astronet.pretrained.load("triage_ensemble")   # a Keras model
  files = astronet.pretrained.model_files("triage_ensemble")   # the members' .keras files

Every script that takes a model takes `--pretrained=NAME` instead of
`--model_dir` (ensemble names average their members, as --average).

The registry (pretrained_models/registry.json, plain data) lists for each name
its family (astronet, flare_transformer, astromer), task, files with their
sha256 (an ensemble: one model file per member), the model card file, or why
the name is unavailable. Files are looked up, in order, in:

  1. an explicit folder (`path=`),
  2. $ASTRONET_PRETRAINED_DIR/NAME/,
  3. the user cache, $XDG_CACHE_HOME (or ~/.cache)/astronet/pretrained/NAME/,
  4. the copy in the repository (the registry's `folder`, relative to the
     directory holding the packages).

The first folder holding every file is used, and each file must match its
sha256. Nothing is downloaded: a missing or altered file is one
CheckpointError naming it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
from collections.abc import Mapping

from tf_util import atomic_io
from tf_util import errors
from tf_util import hashing

REGISTRY_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pretrained_models")
REGISTRY_FILE = os.path.join(REGISTRY_DIR, "registry.json")
# Repository-relative folders are relative to the directory holding the packages.
PACKAGES_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAMILIES = ("astronet", "flare_transformer", "astromer")


@dataclasses.dataclass(frozen=True)
class Entry:
  """One registered name.

  Attributes:
    name: The name given to --pretrained.
    family: "astronet", "flare_transformer" or "astromer".
    task: What it does, in a few words.
    folder: Repository copy, relative to PACKAGES_ROOT (None: not shipped).
    files: {file name: sha256} of the model files, in load order (an
      ensemble: one per member, averaged), and of the card.
    card: File name of the model card (JSON), one of `files`.
    unavailable: Why the name cannot be loaded (then nothing else is needed).
  """
  name: str
  family: str
  task: str
  folder: str | None = None
  files: Mapping[str, str] = dataclasses.field(default_factory=dict)
  card: str | None = None
  unavailable: str | None = None


@functools.lru_cache(maxsize=1)
def _registry() -> dict[str, Entry]:
  with open(REGISTRY_FILE) as f:
    raw = json.load(f)
  return {name: Entry(name=name, family=spec["family"], task=spec["task"],
                      folder=spec.get("folder"), files=dict(spec.get("files", {})),
                      card=spec.get("card"), unavailable=spec.get("unavailable"))
          for name, spec in raw["models"].items()}


def entries() -> dict[str, Entry]:
  """{name: Entry} of every registered name."""
  return dict(_registry())


def get(name: str, family: str | None = None) -> Entry:
  """The entry called `name` (of `family` if given).

  Raises:
    CheckpointError: Unknown name, another family, or a name that cannot be
      loaded (the reason is the message).
  """
  registry = _registry()
  if name not in registry:
    known = sorted(n for n, e in registry.items() if family in (None, e.family))
    raise errors.CheckpointError("Unknown pretrained model {!r}; known: {}".format(
        name, ", ".join(known)))
  entry = registry[name]
  if family is not None and entry.family != family:
    raise errors.CheckpointError("--pretrained={} is a model of the {} family, not of {}".format(
        name, entry.family, family))
  if entry.unavailable:
    raise errors.CheckpointError("--pretrained={}: {}".format(name, entry.unavailable))
  return entry


def cache_dir() -> str:
  """The user cache of pretrained models."""
  base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
  return os.path.join(base, "astronet", "pretrained")


def search_folders(name: str, path: str | None = None) -> list[str]:
  """Where the files of `name` are looked for, in order."""
  entry = _registry().get(name)
  folders = [path] if path else []
  if os.environ.get("ASTRONET_PRETRAINED_DIR"):
    folders.append(os.path.join(os.environ["ASTRONET_PRETRAINED_DIR"], name))
  folders.append(os.path.join(cache_dir(), name))
  if entry is not None and entry.family == "astromer":
    # ASTROMER's own cache ($ASTROMER_WEIGHTS_DIR, else ~/.cache/astromer), as before.
    folders.append(os.path.join(os.environ.get("ASTROMER_WEIGHTS_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "astromer"), name))
  if entry is not None and entry.folder:
    folders.append(os.path.join(PACKAGES_ROOT, entry.folder))
  return folders


def folder_of(name: str, path: str | None = None) -> str:
  """The folder holding every file of `name`, after checking their sha256.

  Raises:
    CheckpointError: Unknown / unavailable name, no folder with all files
      (the message lists where it looked), or a sha256 mismatch.
  """
  entry = get(name)
  needed = list(entry.files)
  for folder in search_folders(name, path):
    if all(os.path.isfile(os.path.join(folder, f)) for f in needed):
      for file_name, expected in entry.files.items():
        file_path = os.path.join(folder, file_name)
        digest = hashing.file_digest(file_path)  # memoised per (path, mtime, size)
        if digest != expected:
          raise errors.CheckpointError(
              "{}: sha256 {} does not match the registered {} of pretrained model {!r}; the "
              "file is damaged or not this model".format(file_path, digest, expected, name))
      return folder
  raise errors.CheckpointError(
      "Pretrained model {!r} is not installed: no folder holds {} (looked in {}); put the "
      "files in $ASTRONET_PRETRAINED_DIR/{}/".format(name, ", ".join(needed),
                                                      ", ".join(search_folders(name, path)),
                                                      name))


def model_files(name: str, family: str | None = None, path: str | None = None) -> list[str]:
  """The verified model files of `name`; for an ensemble, every member's, in order."""
  entry = get(name, family)
  folder = folder_of(name, path)
  return [os.path.join(folder, f) for f in entry.files if f != entry.card]


def card(name: str, path: str | None = None) -> dict:
  """The model card of `name` (training data and command, seeds, metrics, sha256 ...);
  for an unavailable name, why."""
  entry = _registry().get(name)
  if entry is not None and entry.unavailable:
    return {"name": name, "family": entry.family, "task": entry.task,
            "unavailable": entry.unavailable}
  entry = get(name)
  if not entry.card:
    return {"name": name, "task": entry.task}
  with open(os.path.join(folder_of(name, path), entry.card)) as f:
    return json.load(f)


def load(name: str, path: str | None = None):
  """(model, card) of `name`.

  astronet: a Keras model taking {global_view, local_view} -> probability
  (an ensemble is ONE averaging model); flare_transformer: the Keras flare
  model; astromer: a SingleBandEncoder.
  """
  entry = get(name)
  if entry.family == "astronet":
    from astronet.ops import prediction  # noqa: PLC0415  (TensorFlow; the registry loads without it)
    members = [prediction.load_member(f) for f in model_files(name, path=path)]
    return prediction.build_ensemble(members, name=name), card(name, path)
  if entry.family == "flare_transformer":
    from flare_transformer import model as flare_model  # noqa: PLC0415  (Keras)
    return flare_model.load_model(model_files(name, path=path)[0]), card(name, path)
  from astromer.models import SingleBandEncoder  # noqa: PLC0415  (Keras)
  return SingleBandEncoder.from_folder(folder_of(name, path)), card(name, path)


def register(name: str, spec: Mapping) -> None:
  """Adds or replaces `name` in the registry file (atomically); `spec` as its JSON
  entries ({"family", "task", "folder", "files", "card"} or {"unavailable"})."""
  with open(REGISTRY_FILE) as f:
    raw = json.load(f)
  raw["models"][name] = dict(spec)
  raw["models"] = dict(sorted(raw["models"].items()))
  atomic_io.write_json(REGISTRY_FILE, raw, indent=1)
  _registry.cache_clear()


def _size(entry: Entry) -> int:
  if not entry.folder:
    return 0
  return sum(os.path.getsize(os.path.join(PACKAGES_ROOT, entry.folder, f))
             for f in entry.files if os.path.exists(os.path.join(PACKAGES_ROOT, entry.folder, f)))


def table() -> str:
  """The `list` table: name, family, task, size (MB), headline test metrics."""
  rows = [("name", "family", "task", "MB", "test metrics")]
  for name, entry in sorted(_registry().items()):
    if entry.unavailable:
      rows.append((name, entry.family, entry.task, "-", "unavailable (see `card {}`)".format(
          name)))
      continue
    try:
      metrics = card(name).get("test_metrics") or {}
    except errors.CheckpointError as e:
      metrics = {"error": str(e)[:40]}
    shown = ", ".join("{} {}".format(k, "{:.4f}".format(v) if isinstance(v, float) else v)
                      for k, v in metrics.items() if k in ("auc", "roc_auc", "accuracy", "f1", "error"))
    rows.append((name, entry.family, entry.task, "{:.1f}".format(_size(entry) / 1e6),
                 shown or "-"))
  widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
  return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def main(argv: list[str]) -> int:
  usage = "usage: python -m astronet.pretrained list | verify [NAME] | card NAME"
  if not argv or argv[0] in ("-h", "--help"):
    print(__doc__.strip() + "\n\n" + usage)
    return 0 if argv else 2
  command, rest = argv[0], argv[1:]
  try:
    if command == "list":
      print(table())
    elif command == "verify":
      names = rest or [n for n, e in sorted(_registry().items()) if not e.unavailable]
      for name in names:
        files = model_files(name)
        print("{}: {} file(s) verified".format(name, len(files)))
    elif command == "card" and len(rest) == 1:
      print(json.dumps(card(rest[0]), indent=1))
    else:
      print(usage, file=sys.stderr)
      return 2
  except errors.AstronetError as e:
    print("astronet.pretrained: error: {}".format(e), file=sys.stderr)
    return 2
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
