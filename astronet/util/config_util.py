"""Config helpers: JSON overrides and validation (a model_dir's config.json is tf_util.model_dir).

Also Astronet-Triage's `astronet.util.config_util` API (parse_json, to_json,
log_and_save_config, unflatten; see tf_util.config_util).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping

from tf_util import errors
from tf_util.config_util import log_and_save_config  # noqa: F401  pylint: disable=unused-import
from tf_util.config_util import parse_json  # noqa: F401  pylint: disable=unused-import
from tf_util.config_util import to_json  # noqa: F401  pylint: disable=unused-import
from tf_util.config_util import unflatten  # noqa: F401  pylint: disable=unused-import


def apply_overrides(config: Mapping, overrides: str | Mapping | None) -> dict:
  """Deep-merges overrides (a JSON string or dict) into a copy of config.

  Raises:
    ValueError: Invalid JSON, or an override key the config does not have
      (a typo would otherwise be silently ignored).
  """
  config = copy.deepcopy(dict(config))
  if not overrides:
    return config
  if isinstance(overrides, str):
    try:
      overrides = json.loads(overrides)
    except json.JSONDecodeError as e:
      raise errors.ConfigError("--config_overrides is not valid JSON: {}".format(e)) from None
  if not isinstance(overrides, Mapping):
    raise errors.ConfigError("--config_overrides must be a JSON object, got {!r}".format(
        overrides))
  _merge(config, overrides, "")
  return config


def _merge(target: dict, overrides: Mapping, path: str) -> None:
  for key, value in overrides.items():
    where = path + "." + key if path else key
    if key not in target:
      # New features / time-series towers may be added; other keys must exist.
      if path not in ("inputs.features", "hparams.time_series_hidden", "inputs.label_map"):
        raise errors.ConfigError("Config override {!r}: no such key (have {})".format(
            where, sorted(target)))
      target[key] = copy.deepcopy(value)
    elif isinstance(target[key], dict) and isinstance(value, Mapping):
      _merge(target[key], value, where)
    else:
      target[key] = copy.deepcopy(value)


def _is_int(value) -> bool:
  return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
  return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate_config(config: Mapping) -> None:
  """Checks the types and ranges of an Astronet config (before a model_dir is written).

  Raises:
    ConfigError: Names the key, its value and what is expected.
  """
  def bad(key, value, expected):
    raise errors.ConfigError("config {}: {!r} is not {}".format(key, value, expected))

  inputs, hparams = config.get("inputs"), config.get("hparams")
  if not isinstance(inputs, Mapping) or not isinstance(hparams, Mapping):
    raise errors.ConfigError("config needs 'inputs' and 'hparams' objects")
  features = inputs.get("features")
  if not isinstance(features, Mapping) or not features:
    bad("inputs.features", features, "a non-empty object of features")
  for name, spec in features.items():
    length = spec.get("length") if isinstance(spec, Mapping) else None
    if not _is_int(length) or length < 1:
      bad("inputs.features.{}.length".format(name), length, "a positive integer")
  label_map = inputs.get("label_map")
  if not isinstance(label_map, Mapping) or not label_map:
    bad("inputs.label_map", label_map, "a non-empty object {label: id}")
  for label, value in label_map.items():
    if isinstance(value, (list, tuple)):
      if not all(v in (0, 1) for v in value):
        bad("inputs.label_map.{}".format(label), value, "a list of 0/1 targets")
    elif not _is_int(value) or value < 0:
      bad("inputs.label_map.{}".format(label), value, "a non-negative integer id")
  if not isinstance(inputs.get("label_feature"), str) or not inputs["label_feature"]:
    bad("inputs.label_feature", inputs.get("label_feature"), "a feature name")
  checks = {
      "batch_size": (_is_int, 1, None, "an integer >= 1"),
      "output_dim": (_is_int, 1, None, "an integer >= 1"),
      "learning_rate": (_is_number, 0, None, "a number > 0"),
      "num_pre_logits_hidden_layers": (_is_int, 0, None, "an integer >= 0"),
      "pre_logits_hidden_layer_size": (_is_int, 0, None, "an integer >= 0"),
      "learning_rate_decay_steps": (_is_int, 0, None, "an integer >= 0"),
      "weight_decay": (_is_number, 0, None, "a number >= 0"),
  }
  for key, (kind, low, high, expected) in checks.items():
    if key not in hparams or hparams[key] is None:
      continue
    value = hparams[key]
    if not kind(value) or value < low or (key == "learning_rate" and value <= 0) or (
        high is not None and value > high):
      bad("hparams." + key, value, expected)
  for key in ("pre_logits_dropout_rate", "label_smoothing"):
    value = hparams.get(key)
    if value is not None and (not _is_number(value) or not 0 <= value < 1):
      bad("hparams." + key, value, "a number in [0, 1)")
  clip = hparams.get("clip_gradient_norm")
  if clip is not None and (not _is_number(clip) or clip <= 0):
    bad("hparams.clip_gradient_norm", clip, "null or a number > 0")
