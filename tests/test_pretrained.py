"""Shipped models (astronet.pretrained): registry, sha256, reproduction, --pretrained everywhere."""

import io
import json
import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

import h5py
import numpy as np
import pytest

from astronet import pretrained
from astronet.ops import prediction
from tf_util import errors

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHIPPED = [n for n, e in sorted(pretrained.entries().items()) if not e.unavailable]
ASTRONET = [n for n in SHIPPED if pretrained.entries()[n].family == "astronet"]
FLARES = [n for n in SHIPPED if pretrained.entries()[n].family == "flare_transformer"]
VAL_SLICE = ROOT / "tests" / "data" / "triage" / "records" / "val-slice-00000-of-00001"


def _run(*args, env=None):
  proc = subprocess.run([sys.executable] + [str(a) for a in args], capture_output=True,
                        text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT),
                                                      **(env or {})), timeout=300)
  return proc.returncode, proc.stdout, proc.stderr


def test_registry_lists_what_ships_and_why_not():
  entries = pretrained.entries()
  assert {"triage", "triage_ensemble", "macho", "atlas", "flare_transformer",
          "flare_cnn"} <= set(SHIPPED)
  for name in ("kepler", "ztfg"):
    with pytest.raises(errors.CheckpointError, match=name):
      pretrained.get(name)
  with pytest.raises(errors.CheckpointError, match="import_checkpoint.py"):
    pretrained.model_files("kepler")
  with pytest.raises(errors.CheckpointError, match="Unknown pretrained model 'nope'; known:"):
    pretrained.get("nope")
  with pytest.raises(errors.CheckpointError, match="astromer family, not of astronet"):
    pretrained.model_files("macho", "astronet")
  total = sum(os.path.getsize(os.path.join(pretrained.PACKAGES_ROOT, e.folder, f))
              for e in entries.values() if e.folder for f in set(e.files))
  assert total <= 160e6  # the repository copy stays lean


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_name_verifies_and_loads(name):
  files = pretrained.model_files(name)
  assert files and all(os.path.isfile(f) for f in files)
  model, card = pretrained.load(name)
  assert model is not None and isinstance(card, dict)


@pytest.mark.parametrize("name", ASTRONET)
def test_shipped_astronet_models_reproduce_their_cards(name):
  model, card = pretrained.load(name)
  reference = card["reference"]
  views = {k: np.asarray(v, np.float32) for k, v in reference["inputs"].items()}
  member = prediction.Member(name, model, {k: v.shape[1] for k, v in views.items()},
                             outputs_probability=True)
  np.testing.assert_allclose(member.probabilities(views), reference["probabilities"], atol=1e-6)
  assert card["test_metrics"]["num_examples"] > 1000
  assert card["val_metrics"]["auc"] > 0.98
  for file_name, digest in card["model_sha256"].items() if isinstance(
      card["model_sha256"], dict) else []:
    assert pretrained.entries()[name].files[file_name] == digest


@pytest.mark.parametrize("name", FLARES)
def test_shipped_flare_models_reproduce_their_cards(name):
  from flare_transformer import training
  model, card = pretrained.load(name)
  reference = card["reference"]
  windows = np.asarray(reference["inputs"], np.float32)
  assert windows.shape[1:] == (100, 3) and set(reference["labels"]) == {0, 1}
  np.testing.assert_allclose(training.predict_probabilities(model, windows),
                             reference["probabilities"], atol=1e-6)
  assert card["model_sha256"] == pretrained.entries()[name].files["model.keras"]
  # Selected on the validation star, reported once on the test star; no star in two splits.
  stars = {s: set(w["stars"]) for s, w in card["training"]["windows"].items()}
  assert not (stars["train"] & stars["val"]) and not (stars["test"] & (stars["train"] |
                                                                        stars["val"]))
  assert card["test_metrics"]["roc_auc"] > 0.8 and card["val_metrics"]["f1"] > 0.7
  assert card["training"]["best_epoch"] <= card["training"]["epochs_run"]
  held_out = [m for m in card["events_per_star"].values() if m["split"] in ("val", "test")]
  assert held_out and all("recall" in m for m in held_out)
  with zipfile.ZipFile(pretrained.model_files(name)[0]) as archive:  # weights only
    weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
    assert "layers" in weights and "optimizer" not in weights


def test_a_damaged_or_missing_file_is_one_clear_error(tmp_path, monkeypatch):
  entry = pretrained.entries()["triage"]
  source = os.path.join(pretrained.PACKAGES_ROOT, entry.folder)
  copy = tmp_path / "triage"
  for file_name in entry.files:
    (copy / file_name).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(os.path.join(source, file_name), copy / file_name)
  monkeypatch.setenv("ASTRONET_PRETRAINED_DIR", str(tmp_path))
  assert pretrained.folder_of("triage") == str(copy)  # the environment's copy comes first
  model_file = copy / next(f for f in entry.files if f.endswith(".keras"))
  with open(model_file, "r+b") as f:
    f.seek(1000)
    f.write(b"\0damaged\0")
  with pytest.raises(errors.CheckpointError, match="does not match the registered"):
    pretrained.model_files("triage")
  assert pretrained.folder_of("triage", path=source) == source  # an explicit folder wins
  # The repository copy answers once the damaged copy is gone ...
  model_file.unlink()
  assert pretrained.folder_of("triage") == source
  # ... and without it, the error says where it looked.
  monkeypatch.setattr(pretrained, "PACKAGES_ROOT", str(tmp_path / "no_repository"))
  with pytest.raises(errors.CheckpointError, match=r"'triage' is not installed: no folder "
                     r"holds .*model\.keras.*ASTRONET_PRETRAINED_DIR"):
    pretrained.model_files("triage")


def test_astromer_names_load_offline_through_the_registry(monkeypatch, tmp_path):
  from astromer import utils
  from astromer.models import SingleBandEncoder
  monkeypatch.setenv("ASTROMER_WEIGHTS_DIR", str(tmp_path / "empty_cache"))
  assert utils.pretrained_folder("atlas", download=False).endswith(os.path.join("pretrained",
                                                                                "atlas"))
  atlas = SingleBandEncoder.from_pretraining("atlas")
  assert (atlas.num_layers, atlas.d_model) == (2, 256)
  with pytest.raises(errors.CheckpointError,
                     match=r"No pretrained ASTROMER weights 'ztfg': the ztfg weights were never "
                           r"recoverable upstream .*empty_cache"):
    SingleBandEncoder.from_pretraining("ztfg")


def test_cli_list_card_and_pretrained_flags():
  code, out, _ = _run("-m", "astronet.pretrained", "list")
  assert code == 0 and "triage" in out and "unavailable" in out and "auc 0.9" in out
  code, out, _ = _run("-m", "astronet.pretrained", "card", "triage")
  assert code == 0 and json.loads(out)["test_metrics"]["auc"] > 0.98
  code, _, err = _run("-m", "astronet.pretrained", "card", "nope")
  assert code == 2 and "Unknown pretrained model 'nope'" in err
  code, out, err = _run("astronet/evaluate.py", "--pretrained=triage",
                        "--eval_files=" + str(VAL_SLICE))
  assert code == 0, err
  assert [line.split(":")[0] for line in out.splitlines()][:6] == [
      "accuracy", "auc", "precision", "recall", "loss", "average_precision"]
  code, _, err = _run("astronet/evaluate.py", "--pretrained=kepler",
                      "--eval_files=" + str(VAL_SLICE))
  assert code == 2 and "import_checkpoint.py" in err and "Traceback" not in err
  code, _, err = _run("astronet/batch_predict.py", "--pretrained=triage", "--model_dir=x",
                      "--tfrecord_dir=x")
  assert code == 2 and "exactly one of --model_dir and --pretrained" in err
