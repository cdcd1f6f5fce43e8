"""Configuration helpers under exoplanet-ml's import path (`tf_util.config_util`).

parse_json, to_json, log_and_save_config and unflatten with the originals'
names and behaviour, so code written against exoplanet-ml (or Astronet-Triage's
`astronet.util.config_util`) runs unchanged.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import Any

from tf_util import atomic_io

logger = logging.getLogger(__name__)


def parse_json(json_string_or_file: str) -> Any:
  """The value of a JSON string, or of the JSON file it names.

  Raises:
    ValueError: Neither valid JSON nor a readable JSON file (the message says
      both why the string and why the file could not be used).
  """
  try:
    return json.loads(json_string_or_file)
  except ValueError as string_error:
    if not os.path.isfile(json_string_or_file):
      raise ValueError("Cannot parse {!r} as JSON ({}) and it is not a file".format(
          json_string_or_file, string_error)) from None
  try:
    with open(json_string_or_file) as f:
      return json.load(f)
  except ValueError as file_error:
    raise ValueError("The JSON file {} cannot be parsed: {}".format(
        json_string_or_file, file_error)) from None


def to_json(config: Any) -> str:
  """A configuration as indented JSON (its own to_json if it has one)."""
  if callable(getattr(config, "to_json", None)):
    return config.to_json(indent=2)
  return json.dumps(config, indent=2)


def log_and_save_config(config: Any, output_dir: str) -> None:
  """Logs a configuration and writes it to output_dir/config.json (atomically)."""
  text = to_json(config)
  logger.info("config: %s", text)
  os.makedirs(output_dir, exist_ok=True)
  with atomic_io.atomic_open(os.path.join(output_dir, "config.json")) as f:
    f.write(text)


def unflatten(flat_config: Mapping[str, Any]) -> dict:
  """{"a": 1, "b.c": 2} -> {"a": 1, "b": {"c": 2}} (period-separated names nest)."""
  nested: dict = {}
  for path, value in flat_config.items():
    *parents, last = path.split(".")
    node = nested
    for key in parents:
      node = node.setdefault(key, {})
    node[last] = value
  return nested
