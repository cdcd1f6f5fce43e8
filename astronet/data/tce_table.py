"""Reading TCE catalogs and partitioning them into record shards.

One reader per catalog format, both returning a DataFrame whose rows become
records (every column a feature), plus the originals' seed-123 80/10/10 split:

* Kepler (exoplanet-ml): the DR24 TCE table, `rowid` as index (not a
  feature), `tce_duration` hours -> days, labels restricted to PC/AFP/NTP.
* TESS (Astronet-Triage `create_input_list`): columns read by position
  [0,1,2,3,7,8,9,10,11,12,13,18], rows with any missing value and duplicate
  rows dropped, Transit_Depth > 0, Duration hours -> days, IS/V -> J, plus
  `is_multi`.

Rows the originals would have turned into garbage or a crash (non-numeric or
non-positive period/duration, unparseable integers) raise one `CatalogError`
that lists them by CSV line.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from astronet.astro_model import configurations
from tf_util import errors

logger = logging.getLogger(__name__)

SPLIT_SEED = 123

KEPLER_ALLOWED_LABELS = configurations.KEPLER_TRAINING_LABELS
KEPLER_NUMERIC_COLUMNS = ("kepid", "tce_period", "tce_time0bk", "tce_duration")
TESS_COLUMN_POSITIONS = (0, 1, 2, 3, 7, 8, 9, 10, 11, 12, 13, 18)
TESS_COLUMNS = ("row_id", "tic_id", "toi_id", "Disposition", "Epoc", "Period",
                "Duration", "Transit_Depth", "Sectors", "camera", "ccd", "SN")
TESS_INT_COLUMNS = ("Sectors", "camera", "ccd")
TESS_JUNK_DISPOSITIONS = {"IS": "J", "V": "J"}
# Lines of a CSV data row = index + 2 (1-based, after the header line).
_HEADER_LINES = 2
_MAX_LISTED_ROWS = 20


def _describe_rows(table: pd.DataFrame, mask: pd.Series, columns: Sequence[str],
                   line_offset: int = _HEADER_LINES) -> str:
  rows = table[mask]
  lines = []
  for index, row in rows.head(_MAX_LISTED_ROWS).iterrows():
    values = ", ".join("{}={!r}".format(c, row[c]) for c in columns)
    lines.append("  line {}: {}".format(index + line_offset, values))
  if len(rows) > _MAX_LISTED_ROWS:
    lines.append("  ... and {} more".format(len(rows) - _MAX_LISTED_ROWS))
  return "\n".join(lines)


def read_csv(path: str, **kwargs) -> pd.DataFrame:
  """`pd.read_csv` whose failures are one CatalogError naming the file."""
  try:
    return pd.read_csv(path, **kwargs)
  except FileNotFoundError:
    raise errors.CatalogError("TCE catalog {} does not exist".format(path)) from None
  except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
    raise errors.CatalogError("Cannot parse TCE catalog {}: {}".format(path, e)) from None


def _leading_comment_lines(path: str) -> int:
  """Number of lines starting with '#' before the header of a CSV file."""
  count = 0
  with open(path, encoding="utf-8", errors="replace") as f:
    for line in f:
      if not line.startswith("#"):
        break
      count += 1
  return count


def _require_columns(table: pd.DataFrame, required: Sequence[str], path: str):
  missing = [c for c in required if c not in table.columns]
  if missing:
    raise errors.CatalogError(
        "TCE catalog {} lacks column(s) {}; it has {}".format(
            path, missing, list(table.columns)))


def to_numeric_columns(table: pd.DataFrame, columns: Sequence[str], path: str,
                       line_offset: int = _HEADER_LINES) -> pd.DataFrame:
  """Converts columns to numbers; values present but unparseable are an error."""
  converted = table.copy()
  bad = pd.Series(False, index=table.index)
  for column in columns:
    converted[column] = pd.to_numeric(table[column], errors="coerce")
    bad |= converted[column].isna() & table[column].notna()
  if bad.any():
    raise errors.CatalogError(
        "TCE catalog {}: {} row(s) with non-numeric values in {}:\n{}".format(
            path, int(bad.sum()), list(columns),
            _describe_rows(table, bad, columns, line_offset)))
  return converted


def _check_positive(table: pd.DataFrame, columns: Sequence[str], path: str,
                    line_offset: int = _HEADER_LINES):
  bad = pd.Series(False, index=table.index)
  for column in columns:
    bad |= ~(table[column] > 0) & table[column].notna()
  if bad.any():
    raise errors.CatalogError(
        "TCE catalog {}: {} row(s) with non-positive {}:\n{}".format(
            path, int(bad.sum()), " or ".join(columns),
            _describe_rows(table, bad, columns, line_offset)))


def read_kepler_tce_table(path: str, label_column: str = "av_training_set",
                          allowed_labels: Sequence[str] = KEPLER_ALLOWED_LABELS
                         ) -> pd.DataFrame:
  """Reads a DR24-style Kepler TCE table as exoplanet-ml did.

  Args:
    path: CSV with at least rowid, kepid, tce_period (days), tce_time0bk
      (BKJD), tce_duration (hours) and `label_column`; '#' lines are comments.
    label_column: Column of training labels.
    allowed_labels: Labels kept.

  Returns:
    DataFrame indexed by rowid, tce_duration in days.

  Raises:
    CatalogError: Missing columns or bad period/duration rows.
  """
  raw = read_csv(path, comment="#")
  # Rows are reported by file line: header and leading '#' comment lines first.
  line_offset = _HEADER_LINES + _leading_comment_lines(path)
  _require_columns(raw, ("rowid",) + KEPLER_NUMERIC_COLUMNS + (label_column,), path)
  table = to_numeric_columns(raw, KEPLER_NUMERIC_COLUMNS, path, line_offset)
  _check_positive(table, ("tce_period", "tce_duration"), path, line_offset)
  allowed = table[label_column].isin(list(allowed_labels))
  bad = table[list(KEPLER_NUMERIC_COLUMNS)].isna().any(axis=1) & allowed
  if bad.any():
    raise errors.CatalogError(
        "TCE catalog {}: {} labelled row(s) with a missing kepid, period, t0 "
        "or duration:\n{}".format(path, int(bad.sum()), _describe_rows(
            table, bad, KEPLER_NUMERIC_COLUMNS, line_offset)))
  table = table[allowed.to_numpy()].set_index("rowid")
  if pd.api.types.is_float_dtype(table["kepid"]):
    table["kepid"] = table["kepid"].astype(np.int64)
  table["tce_duration"] /= 24  # Hours -> days.
  logger.info("Read TCE CSV file %s with %d rows; kept %d TCEs with labels in %s.",
              path, len(raw), len(table), list(allowed_labels))
  return table


def read_tess_tce_table(paths: str | Sequence[str],
                        reproduce_is_multi_quirk: bool = False) -> pd.DataFrame:
  """Reads Triage catalog(s) as `create_input_list` did.

  Args:
    paths: One or more tces.csv files (columns as in the Triage README; read
      by position, names checked).
    reproduce_is_multi_quirk: The original tested `tic in DataFrame` (column
      names), so `is_multi` was always False. True reproduces that (records
      identical to the published shards); False marks every TCE whose TIC
      appears in more than one row.

  Returns:
    DataFrame with the 12 columns plus is_multi; Duration in days.

  Raises:
    CatalogError: Wrong columns, non-numeric or non-positive values.
  """
  if isinstance(paths, str):
    paths = [paths]
  tables = []
  for path in paths:
    raw = read_csv(path)
    if len(raw.columns) <= max(TESS_COLUMN_POSITIONS):
      raise errors.CatalogError(
          "TCE catalog {} has {} columns; the Triage layout needs at least {} "
          "({})".format(path, len(raw.columns), max(TESS_COLUMN_POSITIONS) + 1,
                        ", ".join(TESS_COLUMNS)))
    names = [raw.columns[i] for i in TESS_COLUMN_POSITIONS]
    wrong = [(i, n, e) for i, n, e in zip(TESS_COLUMN_POSITIONS, names, TESS_COLUMNS)
             if n != e]
    if wrong:
      raise errors.CatalogError("TCE catalog {}: unexpected column names {}".format(
          path, ", ".join("column {} is {!r}, expected {!r}".format(*w)
                          for w in wrong)))
    table = to_numeric_columns(raw.iloc[:, list(TESS_COLUMN_POSITIONS)], ("row_id", "tic_id", "Epoc", "Period", "Duration",
                                "Transit_Depth", "Sectors", "camera", "ccd",
                                "SN"), path)
    _check_positive(table, ("Period", "Duration"), path)
    tables.append(table)
  table = pd.concat(tables) if len(tables) > 1 else tables[0]

  table = table.dropna().drop_duplicates()
  table = table[table["Transit_Depth"] > 0].copy()
  for column in ("row_id", "tic_id") + TESS_INT_COLUMNS:
    values = table[column]
    if not np.all(values == np.round(values)):
      raise errors.CatalogError("TCE catalog: non-integer {} in rows:\n{}".format(
          column, _describe_rows(table, values != np.round(values), (column,))))
    table[column] = values.astype(np.int64)
  table["Duration"] /= 24  # Hours -> days.
  logger.info("Read TCE CSV file(s) with %d rows.", len(table))
  table["Disposition"] = table["Disposition"].replace(TESS_JUNK_DISPOSITIONS)
  if reproduce_is_multi_quirk:
    table["is_multi"] = False
  else:
    table["is_multi"] = table["tic_id"].duplicated(keep=False).to_numpy()
  logger.info("Filtered to %d TCEs", len(table))
  return table


@dataclasses.dataclass(frozen=True)
class Partition:
  """Rows of one output shard."""
  name: str
  table: pd.DataFrame


def shard_name(prefix: str, index: int, num_shards: int) -> str:
  return "{}-{:05d}-of-{:05d}".format(prefix, index, num_shards)


def shuffle(table: pd.DataFrame, seed: int = SPLIT_SEED) -> pd.DataFrame:
  """The originals' `np.random.seed(123); table.iloc[permutation(n)]`."""
  return table.iloc[np.random.RandomState(seed).permutation(len(table))]


def split_into_shards(table: pd.DataFrame, prefix: str,
                      num_shards: int) -> list[Partition]:
  """Contiguous shards at `np.linspace(0, n, num_shards + 1).astype(int)`."""
  boundaries = np.linspace(0, len(table), num_shards + 1).astype(int)
  return [Partition(shard_name(prefix, i, num_shards),
                    table[boundaries[i]:boundaries[i + 1]])
          for i in range(num_shards)]


def partition_tces(table: pd.DataFrame, num_train_shards: int = 8,
                   clean: bool = False, threshold: float = 15.0,
                   snr_column: str | None = "SN",
                   seed: int = SPLIT_SEED) -> list[Partition]:
  """Shuffles and splits 80/10/10 into train shards, one val and one test shard.

  With `clean`, train and val (not test) keep rows with snr >= threshold, after
  the split, as Triage did, so the split itself does not depend on `clean`.
  """
  table = shuffle(table, seed)
  num_tces = len(table)
  train_cutoff = int(0.80 * num_tces)
  val_cutoff = int(0.90 * num_tces)
  train, val, test = (table[0:train_cutoff], table[train_cutoff:val_cutoff],
                      table[val_cutoff:])
  if clean:
    _require_snr(table, snr_column)
    logger.info("Excluding %s < %s", snr_column, threshold)
    train = train[train[snr_column] >= threshold]
    val = val[val[snr_column] >= threshold]
  logger.info("Partitioned %d TCEs into training (%d), validation (%d) and "
              "test (%d)", num_tces, len(train), len(val), len(test))
  return (split_into_shards(train, "train", num_train_shards) +
          [Partition(shard_name("val", 0, 1), val),
           Partition(shard_name("test", 0, 1), test)])


def partition_test_set(table: pd.DataFrame, num_shards: int = 8,
                       clean: bool = False, threshold: float = 15.0,
                       snr_column: str | None = "SN",
                       sector_column: str | None = "Sectors",
                       min_sector: int = 4,
                       seed: int = SPLIT_SEED) -> list[Partition]:
  """Triage `--make_test_set`: TCEs from new sectors, shuffled, in test shards."""
  if clean:
    _require_snr(table, snr_column)
    table = table[table[snr_column] >= threshold]
  if sector_column is not None:
    table = table[table[sector_column] >= min_sector]
  logger.info("Read in %d TCEs", len(table))
  return split_into_shards(shuffle(table, seed), "test", num_shards)


def _require_snr(table: pd.DataFrame, snr_column: str | None):
  if snr_column is None or snr_column not in table.columns:
    raise errors.CatalogError(
        "--clean needs a signal-to-noise column ({!r}); the catalog has {}".format(
            snr_column, list(table.columns)))


def read_prediction_catalog(path: str, mission) -> pd.DataFrame:
  """A catalog of TCEs to predict: only what the views need.

  Columns (the mission's names, astronet.missions): star id, period (days),
  epoch (BKJD / BTJD), duration (HOURS, as the originals' catalogs), and for
  TESS the sector; the label and (Kepler) planet number are optional. Other
  columns are kept.

  Returns:
    DataFrame with duration in days, integer ids / sectors, "" for a missing
    label, is_multi (TESS: the TIC appears in several rows).

  Raises:
    CatalogError: Missing columns, empty, missing / non-numeric / non-positive values.
  """
  table = read_csv(path, skiprows=_leading_comment_lines(path))
  numeric = [mission.id_column, mission.period_column, mission.t0_column,
             mission.duration_column] + ([mission.sector_column] if mission.has_sectors else [])
  _require_columns(table, numeric, path)
  if not len(table):
    raise errors.CatalogError("TCE catalog {} has no rows".format(path))
  missing = table[numeric].isna().any(axis=1)
  if missing.any():
    raise errors.CatalogError("TCE catalog {}: {} row(s) with empty {}:\n{}".format(
        path, int(missing.sum()), numeric, _describe_rows(table, missing, numeric)))
  table = to_numeric_columns(table, numeric, path)
  _check_positive(table, (mission.period_column, mission.duration_column), path)
  integer = [mission.id_column] + ([mission.sector_column] if mission.has_sectors else [])
  for column in integer:
    values = table[column]
    if not np.all(values == np.round(values)):
      raise errors.CatalogError("TCE catalog {}: non-integer {} in rows:\n{}".format(
          path, column, _describe_rows(table, values != np.round(values), (column,))))
    table[column] = values.astype(np.int64)
  if not mission.has_sectors:
    table[mission.sub_id_column] = (
        pd.to_numeric(table[mission.sub_id_column], errors="coerce").fillna(1).astype(np.int64)
        if mission.sub_id_column in table.columns else 1)
  table[mission.duration_column] = table[mission.duration_column] / 24  # Hours -> days.
  if mission.label_column not in table.columns:
    table[mission.label_column] = ""
  table[mission.label_column] = table[mission.label_column].fillna("").astype(str)
  if mission.has_sectors:
    table["is_multi"] = table[mission.id_column].duplicated(keep=False).to_numpy()
  return table.reset_index(drop=True)
