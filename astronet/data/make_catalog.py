r"""Builds the Triage TCE catalog (tces.csv) from TEV CSVs (Astronet-Triage).

  python astronet/data/make_catalog.py --base_dir=lists/ \
    --input sector-1-earlylook.csv sector-2-bright.csv \
    --tic_table=tic.csv --camera_ccd_table=pointing.csv \
    --bls_dir=/pdo/qlp-data --out_name=tces.csv

The original looked stars up online (TIC and Gaia via tsig) and computed
camera/CCD from the spacecraft pointing. Here those values come from local
tables, and a TCE whose star or pointing is missing is an error that lists
every missing id:

* --tic_table: CSV with `tic_id` and the stellar columns `ra, dec, tmag,
  rad, mass, teff, logg` (Gaia-refined radius/teff if you have them).
* --camera_ccd_table: CSV with `tic_id, sector, camera, ccd`; optional when
  the TEV CSVs already have camera and ccd columns.
* --bls_dir: QLP BLS results, `sector-{S}/ffi/cam{C}/ccd{D}/BLS/{tic}.blsanal`.

As in the original, stars with Tmag <= 12 whose BLS peak passes the TCE cuts
take Epoc, Period, Duration (hours), depth (ppm), SN and Qingress from BLS plus
the stellar parameters; other rows keep the TEV values and NaN SN (so
generate_input_records drops them). A missing BLS file is logged and the row
kept, as the original did. Output columns, in the order generate_input_records
reads: row_id, tic_id, toi_id, Disposition, RA, Dec, Tmag, Epoc, Period,
Duration, Transit_Depth, Sectors, camera, ccd, star_rad, star_mass, teff,
logg, SN, Qingress.
"""

from __future__ import annotations

import concurrent.futures
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
from absl import app
from absl import flags
from absl import logging

from astronet.data import tce_table
from astronet.data import tev_catalog
from tf_util import cli
from tf_util import errors

FLAGS = flags.FLAGS


# TEV layout: tic_id, toi_id, Disposition, RA, Dec, Tmag, Epoc, Period,
# Duration (hours), Transit Depth (ppm), Sectors.
TEV_COLUMN_POSITIONS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16)
TEV_NAMES = ("tic_id", "toi_id", "Disposition", "RA", "Dec", "Tmag", "Epoc",
             "Period", "Duration", "Transit_Depth", "Sectors")
CATALOG_COLUMNS = ("row_id",) + TEV_NAMES + (
    "camera", "ccd", "star_rad", "star_mass", "teff", "logg", "SN", "Qingress")
TIC_COLUMNS = ("ra", "dec", "tmag", "rad", "mass", "teff", "logg")
# Stars fainter than this keep their TEV values (no BLS refit), as in Triage.
BLS_MAX_TMAG = 12.0


def define_flags() -> None:
  """Defines the command-line flags (only when run as a script, so that
  importing this module next to other scripts defines no duplicate flags)."""
  flags.DEFINE_integer("num_worker_processes", 1,
                       "Parallel readers of BLS files (threads; lookups are local).",
                       lower_bound=1, upper_bound=1024)
  flags.DEFINE_list("input", None, "TEV CSV file(s) of TCEs, relative to --base_dir "
                    "(comma- or space-separated).")
  flags.DEFINE_string("base_dir", ".", "Directory of the TEV CSVs and of the output.")
  flags.DEFINE_string("out_name", "tces.csv", "Name of the output file.")
  flags.DEFINE_string("tic_table", None, "Local TIC table (see module docstring).")
  flags.DEFINE_string("camera_ccd_table", None,
                      "CSV with tic_id, sector, camera, ccd (see module docstring).")
  flags.DEFINE_string("bls_dir", "/pdo/qlp-data/", "Base directory of QLP BLS files.")


def read_tev_csvs(paths: Sequence[str]) -> pd.DataFrame:
  """Concatenates TEV CSVs, keeping the 11 columns Triage used."""
  tables = []
  for path in paths:
    raw = tce_table.read_csv(path)
    if len(raw.columns) <= max(TEV_COLUMN_POSITIONS):
      raise errors.CatalogError(
          "TEV CSV {} has {} columns; expected the TEV layout {}".format(
              path, len(raw.columns), list(tev_catalog.TEV_COLUMNS)))
    table = raw.iloc[:, list(TEV_COLUMN_POSITIONS)].copy()
    table.columns = TEV_NAMES
    for column in ("camera", "ccd"):
      if column in raw.columns:
        table[column] = raw[column]
    tables.append(table)
  table = pd.concat(tables, ignore_index=True)
  numeric = [c for c in TEV_NAMES if c not in ("toi_id", "Disposition")]
  return tce_table.to_numeric_columns(table, numeric, ",".join(paths))


def read_bls(path: str) -> dict[str, float]:
  """First (strongest) peak of a QLP .blsanal file, as {column: value}.

  Raises:
    LightCurveFileError: Missing, empty or malformed file.
  """
  try:
    with open(path, encoding="utf-8") as f:
      lines = [line for line in f.read().splitlines() if line.strip()]
  except OSError as e:
    raise errors.LightCurveFileError("Cannot read BLS file {}: {}".format(path, e),
                                     path) from None
  if len(lines) < 2:
    raise errors.LightCurveFileError("BLS file {} has no peaks".format(path), path)
  names = lines[0].lstrip("#").split()
  values = lines[1].split()
  if len(values) != len(names):
    raise errors.LightCurveFileError(
        "BLS file {}: {} header names but {} values".format(path, len(names),
                                                            len(values)), path)
  try:
    return {n: float(v) for n, v in zip(names, values)}
  except ValueError as e:
    raise errors.LightCurveFileError("BLS file {}: {}".format(path, e), path) from None


def bls_filename(bls_dir: str, tic: int, sector: int, camera: int, ccd: int) -> str:
  return os.path.join(bls_dir, "sector-{}".format(sector), "ffi",
                      "cam{}".format(camera), "ccd{}".format(ccd), "BLS",
                      "{}.blsanal".format(tic))


def is_tce(peak: dict[str, float]) -> bool:
  """Triage's cuts on the strongest BLS peak."""
  if not (peak["BLS_SignaltoPinknoise_1_0"] > 9 and
          peak["BLS_Npointsintransit_1_0"] > 5):
    return False
  if peak["BLS_OOTmag_1_0"] < 12:
    return peak["BLS_SN_1_0"] > 5
  return peak["BLS_SN_1_0"] > 9


def _lookup(tces: pd.DataFrame, table: pd.DataFrame, keys: Sequence[str],
            columns: Sequence[str], what: str, table_keys=None) -> pd.DataFrame:
  table_keys = list(table_keys or keys)
  missing_columns = [c for c in table_keys + list(columns) if c not in table.columns]
  if missing_columns:
    raise errors.CatalogError("{} lacks column(s) {}; it has {}".format(
        what, missing_columns, list(table.columns)))
  table = table.drop_duplicates(table_keys).set_index(table_keys)
  index = pd.MultiIndex.from_frame(tces[list(keys)]) if len(keys) > 1 else tces[keys[0]]
  found = index.isin(table.index)
  if not found.all():
    missing = tces.loc[~found, list(keys)].drop_duplicates()
    raise errors.CatalogError("{} has no row for {} TCE(s): {}".format(
        what, len(missing), missing.to_dict("records")[:20]))
  return table.loc[index, list(columns)].reset_index(drop=True)


def fill_catalog(tces: pd.DataFrame, tic_table: pd.DataFrame,
                 camera_ccd_table: pd.DataFrame | None, bls_dir: str,
                 num_workers: int = 1) -> pd.DataFrame:
  """Adds camera/ccd, stellar parameters and BLS values (see module docstring)."""
  tces = tces.reset_index(drop=True).copy()
  tces["Sectors"] = tces["Sectors"].astype(np.int64)
  tces["tic_id"] = tces["tic_id"].astype(np.int64)
  if camera_ccd_table is not None:
    pointing = _lookup(tces, camera_ccd_table, ["tic_id", "Sectors"], ["camera", "ccd"],
                       "--camera_ccd_table", table_keys=["tic_id", "sector"])
    tces["camera"], tces["ccd"] = pointing["camera"].to_numpy(), pointing["ccd"].to_numpy()
  elif not {"camera", "ccd"} <= set(tces.columns) or tces[["camera", "ccd"]].isna().any().any():
    raise errors.CatalogError(
        "camera/ccd are not in the TEV CSVs for every TCE; give --camera_ccd_table")
  tces["camera"] = tces["camera"].astype(np.int64)
  tces["ccd"] = tces["ccd"].astype(np.int64)
  stars = _lookup(tces, tic_table, ["tic_id"], TIC_COLUMNS, "--tic_table")
  for column in ("star_rad", "star_mass", "teff", "logg", "SN", "Qingress"):
    tces[column] = np.nan

  candidates = np.flatnonzero((stars["tmag"].to_numpy() <= BLS_MAX_TMAG) &
                              (tces["camera"].to_numpy() > 0))
  files = [bls_filename(bls_dir, tces.at[i, "tic_id"], tces.at[i, "Sectors"],
                        tces.at[i, "camera"], tces.at[i, "ccd"]) for i in candidates]
  with concurrent.futures.ThreadPoolExecutor(max(1, num_workers)) as pool:
    peaks = list(pool.map(_try_read_bls, files))
  num_missing = 0
  for i, peak in zip(candidates, peaks):
    if peak is None:
      num_missing += 1
      continue
    if not is_tce(peak):
      continue
    period = peak["BLS_Period_1_0"]
    tces.loc[i, ["Epoc", "Period", "Duration", "Transit_Depth", "SN", "Qingress"]] = [
        peak["BLS_Tc_1_0"], period, peak["BLS_Qtran_1_0"] * period * 24,
        peak["BLS_Depth_1_0"] * 1e6, peak["BLS_SignaltoPinknoise_1_0"],
        peak["BLS_Qingress_1_0"]]
    tces.loc[i, ["star_rad", "star_mass", "teff", "logg"]] = stars.loc[
        i, ["rad", "mass", "teff", "logg"]].to_numpy(dtype=float)
    if np.isnan(tces.at[i, "RA"]):
      tces.loc[i, ["RA", "Dec", "Tmag"]] = stars.loc[i, ["ra", "dec", "tmag"]].to_numpy(
          dtype=float)
  if num_missing:
    logging.warning("%d of %d bright TCEs have no BLS file; they keep NaN SN",
                    num_missing, len(candidates))
  tces = tces[np.isfinite(tces["Period"].to_numpy(dtype=float))].reset_index(drop=True)
  tces.insert(0, "row_id", np.arange(len(tces)))
  return tces[list(CATALOG_COLUMNS)]


def _try_read_bls(path: str):
  try:
    return read_bls(path)
  except errors.LightCurveFileError as e:
    logging.info("Skipped: %s", e)
    return None


def main(argv):
  # `--input a.csv b.csv` (the originals' argparse nargs='+') leaves b.csv as a
  # positional argument; accept it as well as `--input=a.csv,b.csv`.
  inputs = list(FLAGS.input or []) + list(argv[1:])
  if not inputs or not FLAGS.tic_table:
    raise app.UsageError("--input and --tic_table are required")
  try:
    tces = read_tev_csvs([os.path.join(FLAGS.base_dir, f) for f in inputs])
    tic_table = tce_table.read_csv(FLAGS.tic_table)
    camera_ccd = (tce_table.read_csv(FLAGS.camera_ccd_table)
                  if FLAGS.camera_ccd_table else None)
    catalog = fill_catalog(tces, tic_table, camera_ccd, FLAGS.bls_dir,
                           FLAGS.num_worker_processes)
  except errors.CatalogError as e:
    cli.fail(str(e))
  path = os.path.join(FLAGS.base_dir, FLAGS.out_name)
  tev_catalog.write_csv_atomically(catalog, path, index=False)
  logging.info("Wrote %d TCEs (%d with BLS values) to %s", len(catalog),
               int(catalog["SN"].notna().sum()), path)
  return 0


if __name__ == "__main__":
  cli.run(main, define_flags)
