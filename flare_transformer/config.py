"""The flare transformer's YAML configuration: loaded, merged over the defaults, validated.

`flare_transformer/config.yaml` holds the defaults (the thesis' keys model /
training / data / output, plus a few added ones it documents). A user file may
give any subset; an unknown key, a value of the wrong type or inconsistent
dimensions raise ConfigError naming the key.
"""

from __future__ import annotations

import copy
import os

import yaml

from tf_util import errors

DEFAULT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "config.yaml")


# A configuration key, type or value that cannot be used (the project's one ConfigError).
ConfigError = errors.ConfigError


def _load_yaml(path: str) -> dict:
  try:
    with open(path) as f:
      value = yaml.safe_load(f)
  except OSError as e:
    raise ConfigError("Cannot read config {}: {}".format(path, e)) from None
  except yaml.YAMLError as e:
    raise ConfigError("Config {} is not valid YAML: {}".format(path, e)) from None
  if value is None:
    return {}
  if not isinstance(value, dict):
    raise ConfigError("Config {} must be a mapping of sections, got {}".format(
        path, type(value).__name__))
  return value


def _merge(defaults: dict, override: dict, where: str, path: str) -> dict:
  merged = copy.deepcopy(defaults)
  for key, value in override.items():
    name = "{}.{}".format(where, key) if where else str(key)
    if key not in defaults:
      raise ConfigError("{}: unknown key {!r} (known: {})".format(path, name,
                                                                   ", ".join(sorted(defaults))))
    default = defaults[key]
    if isinstance(default, dict):
      if not isinstance(value, dict):
        raise ConfigError("{}: {} must be a mapping, got {!r}".format(path, name, value))
      merged[key] = _merge(default, value, name, path)
    else:
      merged[key] = _check_type(default, value, name, path)
  return merged


# Keys whose value may be a string or a list of strings.
STRING_OR_LIST = ("data.fits_dir",)


def _check_type(default, value, name: str, path: str):
  if name in STRING_OR_LIST and isinstance(value, list):
    if not value or not all(isinstance(v, str) for v in value):
      raise ConfigError("{}: {} must be a folder or a non-empty list of folders, got "
                        "{!r}".format(path, name, value))
    return value
  if isinstance(default, bool) or isinstance(value, bool):
    if type(default) is not type(value):
      raise ConfigError("{}: {} must be {}, got {!r}".format(path, name,
                                                            type(default).__name__, value))
    return value
  if isinstance(default, float) and isinstance(value, int):
    return float(value)
  if isinstance(default, list):
    if not isinstance(value, list):
      raise ConfigError("{}: {} must be a list, got {!r}".format(path, name, value))
    return value
  if not isinstance(value, type(default)):
    raise ConfigError("{}: {} must be {}, got {!r}".format(path, name, type(default).__name__,
                                                          value))
  return value


def validate(config: dict, path: str = "config") -> dict:
  """Checks values and their consistency; returns the config."""
  model, training, data = config["model"], config["training"], config["data"]
  if model["architecture"] not in ("transformer", "cnn"):
    raise ConfigError("{}: model.architecture must be transformer or cnn, got {!r}".format(
        path, model["architecture"]))
  if model["input_dim"] != 3:
    raise ConfigError("{}: model.input_dim must be 3 (flux, gradient, quality), got {}".format(
        path, model["input_dim"]))
  if model["d_model"] % model["num_heads"]:
    raise ConfigError("{}: model.d_model {} is not divisible by model.num_heads {}".format(
        path, model["d_model"], model["num_heads"]))
  for key in ("d_model", "num_heads", "num_layers", "d_ff", "max_seq_len"):
    if model[key] < 1:
      raise ConfigError("{}: model.{} must be positive, got {}".format(path, key, model[key]))
  if not 0 <= model["dropout"] < 1:
    raise ConfigError("{}: model.dropout must be in [0, 1), got {}".format(path,
                                                                          model["dropout"]))
  splits = (data["train_split"], data["val_split"], data["test_split"])
  if any(s < 0 for s in splits) or abs(sum(splits) - 1.0) > 1e-6:
    raise ConfigError("{}: data.train_split + val_split + test_split must be 1, got {}".format(
        path, splits))
  if not all(isinstance(t, int) and not isinstance(t, bool) for t in data["exclude_tics"]):
    raise ConfigError("{}: data.exclude_tics must be a list of TIC ids (integers), got "
                      "{!r}".format(path, data["exclude_tics"]))
  if data["window_stride"] < 1:
    raise ConfigError("{}: data.window_stride must be >= 1, got {}".format(
        path, data["window_stride"]))
  if data["synthetic"]["template"] not in ("davenport", "mendoza"):
    raise ConfigError("{}: data.synthetic.template must be davenport or mendoza".format(path))
  for key in ("batch_size", "num_epochs", "early_stopping_patience"):
    if training[key] < 1:
      raise ConfigError("{}: training.{} must be positive, got {}".format(path, key,
                                                                         training[key]))
  if config["output"]["keep_checkpoints"] < 1:
    raise ConfigError("{}: output.keep_checkpoints must be >= 1 (resume needs the last epoch), "
                      "got {}".format(path, config["output"]["keep_checkpoints"]))
  if training["learning_rate"] <= 0:
    raise ConfigError("{}: training.learning_rate must be positive".format(path))
  return config


def load_config(path: str | None = None, overrides: dict | None = None) -> dict:
  """The defaults merged with the YAML at `path` and then `overrides` (same nesting).

  Raises:
    ConfigError: Unreadable file, unknown key, wrong type or inconsistent values.
  """
  config = _load_yaml(DEFAULT_PATH)
  if path is not None:
    config = _merge(config, _load_yaml(path), "", path)
  if overrides:
    config = _merge(config, overrides, "", "overrides")
  return validate(config, path or DEFAULT_PATH)
