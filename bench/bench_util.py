"""Shared helpers of the benchmarks."""

from __future__ import annotations

import pathlib

from tf_util import atomic_io

RESULTS_DIR = pathlib.Path(__file__).resolve().parent / "results"


def lookup(results: dict, key: str):
  """results["a"]["b"] for key "a.b"; None where any part is missing."""
  value = results
  for part in key.split("."):
    if not isinstance(value, dict) or part not in value:
      return None
    value = value[part]
  return value


def write_results(path: str, results: dict) -> None:
  """Writes the figures as JSON, atomically."""
  atomic_io.write_json(path, results)
