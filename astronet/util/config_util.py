"""Config helpers: JSON overrides, saving/loading a model_dir's config."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping

from tf_util import atomic_io


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
      raise ValueError("--config_overrides is not valid JSON: {}".format(e)) from None
  _merge(config, overrides, "")
  return config


def _merge(target: dict, overrides: Mapping, path: str) -> None:
  for key, value in overrides.items():
    where = path + "." + key if path else key
    if key not in target:
      # New features / time-series towers may be added; other keys must exist.
      if path not in ("inputs.features", "hparams.time_series_hidden", "inputs.label_map"):
        raise ValueError("Config override {!r}: no such key (have {})".format(
            where, sorted(target)))
      target[key] = copy.deepcopy(value)
    elif isinstance(target[key], dict) and isinstance(value, Mapping):
      _merge(target[key], value, where)
    else:
      target[key] = copy.deepcopy(value)


CONFIG_FILE = "config.json"


def write_config(config: Mapping, model_dir: str) -> None:
  """Writes model_dir/config.json atomically."""
  os.makedirs(model_dir, exist_ok=True)
  atomic_io.write_json(os.path.join(model_dir, CONFIG_FILE), config, indent=2,
                       sort_keys=True)


def read_config(model_dir: str) -> dict | None:
  path = os.path.join(model_dir, CONFIG_FILE)
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)
