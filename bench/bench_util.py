"""Shared helpers of the benchmarks."""

from __future__ import annotations

import pathlib

from tf_util import atomic_io

RESULTS_DIR = pathlib.Path(__file__).resolve().parent / "results"


def write_results(path: str, results: dict) -> None:
  """Writes the figures as JSON, atomically."""
  atomic_io.write_json(path, results)
