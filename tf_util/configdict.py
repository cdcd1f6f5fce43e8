"""`ConfigDict` under exoplanet-ml's import path (`tf_util.configdict`).

A dict whose keys are also attributes (`config.hparams.batch_size`); nested
dicts, also inside lists, become ConfigDicts when set, as in the originals.
"""

from __future__ import annotations

from typing import Any


def _as_config(value: Any) -> Any:
  if isinstance(value, dict) and not isinstance(value, ConfigDict):
    return ConfigDict(value)
  if isinstance(value, list):
    return [_as_config(v) for v in value]
  return value


class ConfigDict(dict):
  """dict with attribute access; missing attributes raise AttributeError."""

  def __init__(self, initial_dictionary: dict | None = None):
    super().__init__()
    for key, value in (initial_dictionary or {}).items():
      self[key] = value

  def __setitem__(self, key: str, value: Any) -> None:
    super().__setitem__(key, _as_config(value))

  def __getattr__(self, attribute: str) -> Any:
    try:
      return self[attribute]
    except KeyError as e:
      raise AttributeError(e) from None

  def __setattr__(self, attribute: str, value: Any) -> None:
    self[attribute] = value

  def __delattr__(self, attribute: str) -> None:
    try:
      del self[attribute]
    except KeyError as e:
      raise AttributeError(e) from None
