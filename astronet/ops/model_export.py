"""Export of one model or an averaged ensemble as ONE model with a model card.

The library behind export_model.py and batch_predict.py --export_ensemble:
.keras (card inside the archive as model_card.json), TF SavedModel (card in
the directory) or ONNX (card in the metadata under "model_card"); see
export_model.py for the command line.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
import zipfile

import numpy as np
import tensorflow as tf

from astronet import missions
from astronet.astro_model import configurations
from astronet.ops import dataset_ops
from astronet.ops import prediction
from tf_util import atomic_io
from tf_util import errors
from tf_util import hashing
from tf_util import model_dir as model_dir_lib

MODEL_CARD = "model_card.json"
FORMATS = ("keras", "saved_model", "onnx")


def _read_json(path: str):
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


PROVENANCE_FEATURES = ("light_curve_format", "flux_column", "quality_bitmask",
                       "light_curve_sectors")


def training_light_curves(runs) -> dict:
  """Which light curves the training records came from: the provenance features of
  the first training record (records made from SPOC / QLP FITS carry them); {} for
  the Triage h5 / Kepler records, or when the files are gone."""
  for run in runs:
    try:
      files = dataset_ops.expand_file_pattern(run.get("train_files") or "")
    except errors.AstronetError:
      continue
    for record in tf.data.TFRecordDataset(files[:1]).take(1):
      features = tf.train.Example.FromString(record.numpy()).features.feature
      found = {}
      for name in PROVENANCE_FEATURES:
        if name in features:
          value = features[name]
          found[name] = (value.bytes_list.value[0].decode() if value.bytes_list.value
                         else int(value.int64_list.value[0]) if value.int64_list.value
                         else float(value.float_list.value[0]))
      return found
  return {}


def member_card(path: str) -> dict:
  """What is known of one member: config, training runs and metrics files."""
  card = {"source": os.path.abspath(path)}
  if os.path.isdir(path):
    saved = model_dir_lib.read_config(path)
    if saved is not None and "model" in saved:
      card.update(model=saved["model"], config=saved["config"])
    elif saved is not None:
      card.update(model="AstroCNNModel (original TF1 checkpoint)", config=saved)
    card["training"] = (_read_json(os.path.join(path, model_dir_lib.TRAINING_LOG)) or {}).get("runs")
    provenance = training_light_curves(card["training"] or [])
    if provenance:
      card["light_curves"] = provenance
    card["metrics"] = {name[len("metrics_"):-len(".json")]: _read_json(os.path.join(path, name))
                       for name in sorted(os.listdir(path))
                       if name.startswith("metrics_") and name.endswith(".json")}
  elif path.endswith(".keras"):
    embedded = read_model_card(path)
    if embedded:
      card["model_card"] = embedded
  return card


def model_card(members, feature_lengths: dict) -> dict:
  """The model card of an export (see module docstring)."""
  mission = configurations.mission_of(feature_lengths)
  views = {}
  if mission:
    spec = missions.get_mission(mission)
    views = {"global_view": dataclasses.asdict(spec.global_view),
             "local_view": dataclasses.asdict(spec.local_view)}
  light_curves = {
      "kepler": "Kepler PDCSAP_FLUX (LIGHTCURVE extension), segments split at gaps > 0.75 d, "
                "Kepler spline detrending (bkspace 0.5-20 d, best BIC), phase fold on t0, "
                "median binning; views normalised to median 0, minimum -1",
      "tess": "Astronet-Triage h5 KSPMagnitude of the best aperture, QFLAG == 0, upward "
              "5*MAD clip, flux = 10**(-(mag - median)/2.5), phase fold on Epoc, median "
              "binning with linear interpolation of empty bins; views normalised to median "
              "0, minimum -1",
  }.get(mission)
  return {
      "format_version": 1,
      "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
      "inputs": {name: {"shape": [None, length], "dtype": "float32"}
                 for name, length in sorted(feature_lengths.items())},
      "output": "probability of the positive class, float32 [batch, 1]",
      "mission": mission,
      "preprocessing": {"light_curve": light_curves, "views": views},
      "ensemble_size": len(members),
      "members": [member_card(m.name) for m in members],
      "versions": model_dir_lib.package_versions(),
  }


def probability_model(members):
  """ONE Keras model returning the (mean) positive-class probability [batch, 1]."""
  return prediction.build_ensemble(members, name="astronet_export")


def format_of(path: str) -> str:
  """Export format implied by a path: .keras, .onnx, else a SavedModel directory."""
  return "keras" if path.endswith(".keras") else "onnx" if path.endswith(".onnx") \
      else "saved_model"


def check_output(output: str, fmt: str) -> None:
  """Checks an export's output path before the models are loaded.

  Raises:
    ConfigError: Unknown format, or a path that does not fit it.
    OutputError: A SavedModel output that already exists, or an output folder
      that cannot be written.
  """
  if fmt not in FORMATS:
    raise errors.ConfigError("Unknown --format {!r}; expected one of {}".format(fmt, FORMATS))
  if fmt == "keras" and not output.endswith(".keras"):
    raise errors.ConfigError("--format=keras needs an --output ending in .keras: {}".format(
        output))
  if fmt == "onnx" and not output.endswith(".onnx"):
    raise errors.ConfigError("--format=onnx needs an --output ending in .onnx: {}".format(
        output))
  if fmt == "saved_model" and os.path.exists(output):
    raise errors.OutputError("--output {} already exists".format(output), output)
  if fmt != "saved_model" and os.path.isdir(output):
    raise errors.OutputError("--output {} is a directory".format(output), output)
  atomic_io.check_writable(os.path.dirname(os.path.abspath(output)))


def export(model_dir: str, output: str, fmt: str = "keras", average: bool = False) -> dict:
  """Exports the models named like batch_predict's --model_dir; returns the model card."""
  return export_members(prediction.load_members(model_dir, average), output, fmt)


def export_members(members, output: str, fmt: str = "keras") -> dict:
  """Exports loaded members (ops.prediction.Member) as one model; returns the model card."""
  check_output(output, fmt)
  lengths = members[0].feature_lengths
  card = model_card(members, lengths)
  model = probability_model(members)
  model({name: np.zeros([1, n], np.float32) for name, n in lengths.items()})
  card_text = json.dumps(card, indent=1, default=str)
  if fmt == "keras":
    with atomic_io.atomic_path(output) as tmp:
      model.save(tmp)
      with zipfile.ZipFile(tmp, "a") as archive:
        archive.writestr(MODEL_CARD, card_text)
  elif fmt == "saved_model":
    with atomic_io.atomic_path(output.rstrip("/")) as tmp:
      model.export(tmp, format="tf_saved_model", verbose=False)
      with open(os.path.join(tmp, MODEL_CARD), "w") as f:
        f.write(card_text)
  else:
    try:
      import onnx  # noqa: PLC0415  (optional extra `onnx`)
    except ImportError as e:
      raise ImportError("ONNX export needs tf2onnx and onnx: pip install "
                        "'astronet-tf2[onnx]'") from e
    with atomic_io.atomic_path(output) as tmp:
      model.export(tmp, format="onnx", verbose=False)
      proto = onnx.load(tmp)
      entry = proto.metadata_props.add()
      entry.key, entry.value = "model_card", card_text
      onnx.save(proto, tmp)
  return card


def read_model_card(path: str) -> dict | None:
  """The model card of an exported .keras file, SavedModel directory or .onnx file."""
  if os.path.isdir(path):
    card_path = os.path.join(path, MODEL_CARD)
    return _read_json(card_path)
  if path.endswith(".keras"):
    with zipfile.ZipFile(path) as archive:
      if MODEL_CARD not in archive.namelist():
        return None
      return json.loads(archive.read(MODEL_CARD))
  if path.endswith(".onnx"):
    import onnx  # noqa: PLC0415  (optional extra `onnx`)
    for entry in onnx.load(path).metadata_props:
      if entry.key == "model_card":
        return json.loads(entry.value)
    return None
  raise ValueError("Not an exported model: {}".format(path))


def reference_records(records: prediction.Records, count: int = 4) -> prediction.Records:
  """`count` records, half of them positives (by the mission's label map) when there
  are: what a shipped model's card stores to check that it reproduces itself."""
  positive = np.array([records.mission.label_map.get(label, 0) == 1 for label in records.labels])
  chosen = list(np.nonzero(positive)[0][:count // 2]) + list(np.nonzero(~positive)[0])
  mask = np.zeros(len(records), bool)
  mask[sorted(chosen[:count])] = True
  return records.subset(mask)


def reference_predictions(members, records: prediction.Records) -> dict:
  """The records' views and the members' mean float32 probabilities of them."""
  views = {name: records.views[name] for name in members[0].feature_lengths}
  return {"record_ids": [int(i) for i in records.ids], "labels": list(records.labels),
          "inputs": {name: v.astype(np.float32).tolist() for name, v in views.items()},
          "probabilities": prediction.predict_members(members, records).mean(axis=0).astype(
              np.float32).tolist()}


def ship(member_dirs: list[str], folder: str, val_files: str, test_files: str, task: str,
         train_command: str) -> dict:
  """Writes a shipped model: folder/model_{i}/model.keras (float32, no optimizer state)
  and model_{i}/card.json per member, and folder/card.json for their average.

  Each card holds the training runs (training.json), config, preprocessing, val and
  test metrics, sha256 of the model file and reference predictions. Returns
  {"members": [{"files", "card"}], "ensemble": {"files", "card"}} relative to folder.
  """
  members = prediction.load_members(",".join(member_dirs), False)
  lengths = members[0].feature_lengths
  test_records = reference_records(prediction.read_records(
      dataset_ops.expand_file_pattern(test_files), lengths))
  files, entries = {}, []
  for index, (directory, member) in enumerate(zip(member_dirs, members), start=1):
    sub = "model_{}".format(index)
    os.makedirs(os.path.join(folder, sub), exist_ok=True)
    model_path = os.path.join(folder, sub, model_dir_lib.MODEL_FILE)
    # Weights only: a train.py model is never compiled, so no optimizer slots are saved.
    model_dir_lib.save_keras(member.model, model_path)
    shipped = prediction.load_member(model_path)
    card = model_card([member], lengths)
    card.update(
        name=sub, task=task, training_command=train_command,
        val_metrics=prediction.evaluate_members([shipped], val_files),
        test_metrics=prediction.evaluate_members([shipped], test_files),
        model_sha256=hashing.file_digest(model_path),
        reference=reference_predictions([shipped], test_records),
        selection="the final step of the original recipe (no selection on validation or test)",
        source=os.path.abspath(directory))
    card_path = os.path.join(folder, sub, "card.json")
    atomic_io.write_json(card_path, card)
    member_files = {sub + "/" + model_dir_lib.MODEL_FILE: card["model_sha256"],
                    sub + "/card.json": hashing.file_digest(card_path)}
    entries.append({"files": member_files, "card": sub + "/card.json"})
    files[sub + "/" + model_dir_lib.MODEL_FILE] = card["model_sha256"]
  shipped_members = [prediction.load_member(os.path.join(folder, f)) for f in files]
  ensemble_card = model_card(members, lengths)
  ensemble_card.update(
      task=task, training_command=train_command,
      val_metrics=prediction.evaluate_members(shipped_members, val_files),
      test_metrics=prediction.evaluate_members(shipped_members, test_files),
      model_sha256=dict(files),
      reference=reference_predictions(shipped_members, test_records),
      selection="every member at the final step of the original recipe; test reported once")
  card_path = os.path.join(folder, "card.json")
  atomic_io.write_json(card_path, ensemble_card)
  files["card.json"] = hashing.file_digest(card_path)
  return {"members": entries, "ensemble": {"files": files, "card": "card.json"}}
