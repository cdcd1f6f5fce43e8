"""Shared helpers of the benchmarks."""

from __future__ import annotations

import json
import os
import pathlib

RESULTS_DIR = pathlib.Path(__file__).resolve().parent / "results"


def write_results(path: str, results: dict) -> None:
  """Writes the figures as JSON, atomically."""
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path + ".tmp", "w") as f:
    json.dump(results, f, indent=1)
  os.replace(path + ".tmp", path)
