r"""Makes a TEV-layout catalog of TCEs from lists of TIC ids (Astronet-Triage).

  python astronet/data/make_empty_catalog.py --base_dir=lists/ \
    --input sector-4-bad.txt sector-4-good.txt --save_dir=catalogs/

Each input `sector-{S}-{anything}.txt` holds one TIC id per line. Output:
`sector-{S}-all.csv` in --save_dir with the TEV columns, src "qlp", toi_id
".01", Disposition "J" (junk) and Sectors S; the other columns are empty and
are filled by make_catalog.py. Unlike the original, which named one file
after the last input's sector, inputs of different sectors give one file per
sector.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from absl import app
from absl import flags
from absl import logging

from tf_util import atomic_io
from tf_util import errors
from tf_util import cli

FLAGS = flags.FLAGS


TEV_COLUMNS = ("src", "tic_id", "toi_id", "Disposition", "RA", "Dec", "Tmag",
               "Tmag Err", "Epoc", "Epoc Err", "Period", "Period Err",
               "Duration", "Duration Err", "Transit Depth", "Transit Depth Err",
               "Sectors")
_SECTOR_PATTERN = re.compile(r"sector-(\d+)(?:-|\.|$)")


def define_flags() -> None:
  """Defines the command-line flags (only when run as a script, so that
  importing this module next to other scripts defines no duplicate flags)."""
  flags.DEFINE_string("base_dir", ".", "Directory where the TIC id lists are located.")
  flags.DEFINE_list("input", None, "TIC id list(s) named sector-{S}-{name}.txt "
                    "(comma- or space-separated).")
  flags.DEFINE_string("save_dir", ".", "Directory where the CSV file(s) are written.")


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


def main(argv):
  # `--input a.csv b.csv` (the originals' argparse nargs='+') leaves b.csv as a
  # positional argument; accept it as well as `--input=a.csv,b.csv`.
  inputs = list(FLAGS.input or []) + list(argv[1:])
  if not inputs:
    raise app.UsageError("--input is required")
  try:
    catalogs = make_empty_catalog(
        [os.path.join(FLAGS.base_dir, f) for f in inputs])
  except errors.CatalogError as e:
    cli.fail(str(e))
  os.makedirs(FLAGS.save_dir, exist_ok=True)
  for sector, table in sorted(catalogs.items()):
    path = os.path.join(FLAGS.save_dir, "sector-{}-all.csv".format(sector))
    write_csv_atomically(table, path, index=False)
    logging.info("Wrote %d TCEs to %s", len(table), path)
  return 0


if __name__ == "__main__":
  cli.run(main, define_flags)
