"""The TEV catalog layout of Astronet-Triage: columns, TIC lists, empty catalogs.

The library behind make_empty_catalog.py (catalogs from TIC lists) and
make_catalog.py / inject_transits.py (which fill and write TEV-layout CSVs).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from tf_util import atomic_io
from tf_util import errors

TEV_COLUMNS = ("src", "tic_id", "toi_id", "Disposition", "RA", "Dec", "Tmag",
               "Tmag Err", "Epoc", "Epoc Err", "Period", "Period Err",
               "Duration", "Duration Err", "Transit Depth", "Transit Depth Err",
               "Sectors")
_SECTOR_PATTERN = re.compile(r"sector-(\d+)(?:-|\.|$)")


def sector_of(path: str) -> int:
  """Sector number from a file name `sector-{S}-....txt`."""
  match = _SECTOR_PATTERN.match(os.path.basename(path))
  if not match:
    raise errors.CatalogError(
        "Cannot tell the sector of {}: expected a name like sector-4-bad.txt".format(path))
  return int(match.group(1))


def read_tic_list(path: str) -> np.ndarray:
  """TIC ids, one integer per non-empty line."""
  try:
    with open(path, encoding="utf-8") as f:
      lines = f.read().splitlines()
  except OSError as e:
    raise errors.CatalogError("Cannot read TIC list {}: {}".format(path, e)) from None
  tics = []
  for number, line in enumerate(lines, 1):
    text = line.strip()
    if not text or text.startswith("#"):
      continue
    try:
      tics.append(int(text))
    except ValueError:
      raise errors.CatalogError("{} line {}: {!r} is not a TIC id".format(
          path, number, text)) from None
  return np.array(tics, dtype=np.int64)


def make_empty_catalog(paths: Sequence[str]) -> dict[int, pd.DataFrame]:
  """{sector: TEV-layout DataFrame} for the TIC lists in `paths`."""
  by_sector: dict[int, list[pd.DataFrame]] = {}
  for path in paths:
    tics = read_tic_list(path)
    table = pd.DataFrame({c: pd.Series(dtype=object) for c in TEV_COLUMNS})
    table["tic_id"] = tics
    table["src"] = "qlp"
    table["toi_id"] = ".01"
    table["Sectors"] = sector_of(path)
    table["Disposition"] = "J"
    by_sector.setdefault(sector_of(path), []).append(table)
  return {s: pd.concat(t, ignore_index=True) for s, t in by_sector.items()}


def write_csv_atomically(table: pd.DataFrame, path: str, **kwargs) -> None:
  with atomic_io.atomic_path(path) as tmp_path:
    table.to_csv(tmp_path, **kwargs)
