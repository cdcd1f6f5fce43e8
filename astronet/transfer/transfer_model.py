"""Transfer-learning building blocks: new heads, weight transfer, freezing groups.

A transfer model is a plain Astronet model (same registry, config.json,
checkpoints, scripts) whose config takes the TARGET records' view lengths and
the new head (`output_dim`, `label_map`); every weight of the pretrained base
whose TF1 name and shape fit is copied, the head (`logits`) is always new, and
layers whose shape changes with the view lengths (the first pre-logits dense
layer when e.g. a Kepler 2001/201-bin model meets TESS 201/61-bin records) are
re-initialised. Conv kernels do not depend on the view length, so the towers
transfer between missions.

Heads:
  binary:  1 sigmoid output; label_map {label: 0/1} (e.g. PC, EB -> 1).
  softmax: one output per class; label_map {label: class id}.
  sigmoid: multi-label; label_map {label: [0/1 per output]}.

Freezing groups, from the output back to the input (gradual unfreezing
releases them in this order, one per stage): "head" (logits), "pre_logits"
(all pre-logits dense layers), then "block_1", "block_2", ... counted from the
TOP of each tower (block_1 = the last conv block of every view).
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Mapping
from collections.abc import Sequence

import keras
import numpy as np

from astronet import checkpoint_import
from astronet.ops import dataset_ops

logger = logging.getLogger(__name__)

HEADS = ("binary", "softmax", "sigmoid")
FREEZE_CHOICES = ("none", "towers", "all")


def head_output_dim(head: str, label_map: Mapping) -> int:
  """Outputs of a head for a label map (checked against the head kind).

  Raises:
    ValueError: Unknown head, or a label map that does not fit it.
  """
  if head not in HEADS:
    raise ValueError("Unknown head {!r}; expected one of {}".format(head, HEADS))
  multi_hot = dataset_ops.multi_hot_matrix(label_map)
  if head == "sigmoid":
    if multi_hot is None:
      raise ValueError("--head=sigmoid needs a multi-label label_map "
                       "({{label: [0/1, ...]}}), got {}".format(dict(label_map)))
    return multi_hot.shape[1]
  if multi_hot is not None:
    raise ValueError("--head={} needs integer labels, got lists: {}".format(head, dict(label_map)))
  ids = sorted(set(label_map.values()))
  if head == "binary":
    if ids != [0, 1]:
      raise ValueError("--head=binary needs labels 0 and 1, got {}".format(dict(label_map)))
    return 1
  if ids != list(range(len(ids))) or len(ids) < 2:
    raise ValueError("--head=softmax needs class ids 0..K-1 (K >= 2), got {}".format(
        dict(label_map)))
  return len(ids)


def transfer_config(base_config: Mapping, view_lengths: Mapping[str, int], head: str,
                    label_map: Mapping, hparam_overrides: Mapping | None = None) -> dict:
  """The base config with the target view lengths, label map and head."""
  config = copy.deepcopy(dict(base_config))
  features = config["inputs"]["features"]
  missing = sorted(set(features) - set(view_lengths))
  if missing:
    raise ValueError("The records lack the base model's views {}".format(missing))
  for name in features:
    features[name]["length"] = int(view_lengths[name])
  config["inputs"]["label_map"] = copy.deepcopy(dict(label_map))
  config["hparams"]["output_dim"] = head_output_dim(head, label_map)
  for key, value in (hparam_overrides or {}).items():
    config["hparams"][key] = value
  return config


def transfer_weights(model: keras.Model, base_weights: Mapping[str, np.ndarray]) -> dict:
  """Copies every base weight whose name and shape fit, except the head.

  Returns:
    {"copied": [...], "reinitialised": [...], "unused": [...]} TF1 names.
  """
  targets = checkpoint_import.keras_weight_names(model)
  report = {"copied": [], "reinitialised": [], "unused": []}
  by_layer = {}
  for name, variable in sorted(targets.items()):
    by_layer.setdefault(name.rpartition("/")[0], []).append((name, variable))
  for layer, weights in sorted(by_layer.items()):
    # A layer is taken whole or not at all (a bias without its kernel is meaningless).
    fits = layer != "logits" and all(
        name in base_weights and tuple(np.shape(base_weights[name])) == tuple(v.shape)
        for name, v in weights)
    for name, variable in weights:
      if fits:
        variable.assign(np.asarray(base_weights[name], dtype=variable.dtype))
        report["copied"].append(name)
      else:
        report["reinitialised"].append(name)
  report["unused"] = sorted(set(base_weights) - set(targets))
  if not report["copied"]:
    raise ValueError("No weight of the base model fits the transfer model")
  logger.info("Transferred %d weights; re-initialised %s", len(report["copied"]),
              report["reinitialised"])
  return report


def layer_groups(model: keras.Model) -> list[tuple[str, list[keras.layers.Layer]]]:
  """[(group name, layers)] from the output to the input (see module docstring)."""
  head, pre_logits, tower_layers = [], [], []
  for layer in model.layers:
    if not layer.weights:
      continue
    if layer.name == "logits":
      head.append(layer)
    elif layer.name.startswith("pre_logits_hidden"):
      pre_logits.append(layer)
    else:
      m = re.match(r"(\w+_hidden)\.block_(\d+)\.", layer.name)
      # Non-CNN tower layers (AstroFCModel) form one top group per tower.
      tower_layers.append(((m.group(1), int(m.group(2))) if m else (layer.name, 1), layer))
  top_block = {}
  for (tower, block), _ in tower_layers:
    top_block[tower] = max(top_block.get(tower, 0), block)
  blocks = {}
  for (tower, block), layer in tower_layers:
    blocks.setdefault(top_block[tower] - block + 1, []).append(layer)
  groups = [("head", head)]
  if pre_logits:
    groups.append(("pre_logits", pre_logits))
  groups.extend(("block_{}".format(depth), blocks[depth]) for depth in sorted(blocks))
  return groups


def set_frozen(model: keras.Model, freeze: str) -> list[str]:
  """Freezes "none", the conv "towers" (everything but pre-logits and head),
  or "all" but the head; returns the trainable group names."""
  if freeze not in FREEZE_CHOICES:
    raise ValueError("Unknown --freeze {!r}; expected one of {}".format(freeze, FREEZE_CHOICES))
  trainable = {"none": None, "towers": ("head", "pre_logits"), "all": ("head",)}[freeze]
  names = []
  for group, layers in layer_groups(model):
    on = trainable is None or group in trainable
    for layer in layers:
      layer.trainable = on
    if on:
      names.append(group)
  return names


def unfreeze(model: keras.Model, groups: Sequence[str]) -> None:
  """Makes the named groups trainable."""
  known = dict(layer_groups(model))
  unknown = sorted(set(groups) - set(known))
  if unknown:
    raise ValueError("Unknown layer groups {}; the model has {}".format(unknown, list(known)))
  for group in groups:
    for layer in known[group]:
      layer.trainable = True


def parse_unfreeze_schedule(schedule: str | None, model: keras.Model) -> list[tuple[str, int]]:
  """[(group, steps)] of --unfreeze_schedule.

  "500": every frozen group in order, 500 steps each; "pre_logits:500,
  block_1:300": explicit stages. Empty: no unfreezing.
  """
  if not schedule:
    return []
  frozen = [name for name, layers in layer_groups(model)
            if layers and not all(l.trainable for l in layers)]
  if re.fullmatch(r"\d+", schedule.strip()):
    return [(name, int(schedule)) for name in frozen]
  stages = []
  for part in schedule.split(","):
    name, _, steps = part.strip().partition(":")
    if not steps.isdigit():
      raise ValueError("--unfreeze_schedule entry {!r} is not group:steps".format(part))
    stages.append((name, int(steps)))
  known = [n for n, _ in layer_groups(model)]
  bad = sorted({n for n, _ in stages} - set(known))
  if bad:
    raise ValueError("Unknown layer groups {} in --unfreeze_schedule; the model has {}".format(
        bad, known))
  return stages
