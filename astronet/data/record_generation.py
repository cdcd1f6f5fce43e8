"""Writing Astronet TFRecords from a TCE catalog: the library behind the record scripts.

generate_input_records.py (multiprocessing), beam_generate_input_records.py
(Apache Beam) and inject_transits.py all plan the shards with `plan` and write
them with `generate_records` (or Beam); see generate_input_records.py for the
command line and the output layout.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from absl import logging

from astronet import missions
from astronet.astro_model import configurations
from astronet.data import records
from astronet.data import tce_table
from tf_util import errors

# The settings that change the records (kept in an output directory's manifest).
MANIFEST_SETTINGS = ("kepler_data_dir", "tess_data_dir", "num_train_shards", "clean",
                     "threshold", "make_test_set", "test_set_min_sector",
                     "reproduce_is_multi_quirk", "spline_backend", "tess_format",
                     "flux_column", "sectors")


def guarded_output(output_dir: str, values: dict, overwrite: bool = False):
  """records.guarded_output_dir for a job planned from `values` (plan's keyword
  arguments, e.g. script_flags.record_flag_values()): its catalogs and the
  MANIFEST_SETTINGS."""
  return records.guarded_output_dir(output_dir, values["input_tce_csv_file"],
                                    {k: values[k] for k in MANIFEST_SETTINGS}, overwrite)


def record_config(kepler_data_dir: str | None, tess_data_dir: str | None,
                  reproduce_is_multi_quirk: bool = False, spline_backend: str = "numpy",
                  tess_format: str | None = None, flux_column: str | None = None,
                  sectors: str | None = None,
                  **unused) -> tuple[missions.Mission, records.RecordConfig]:
  """(mission, RecordConfig) of exactly one of the two data folders.

  Raises:
    ConfigError: Both or neither folder given; a TESS format or flux column that
      does not apply (missions.with_light_curves).
    LightCurveFileError: The folder does not exist.
  """
  del unused
  if bool(kepler_data_dir) == bool(tess_data_dir):
    raise errors.ConfigError("Give exactly one of --kepler_data_dir and --tess_data_dir")
  mission = missions.KEPLER if kepler_data_dir else missions.TESS
  data_dir = kepler_data_dir or tess_data_dir
  if "://" not in data_dir and not os.path.isdir(data_dir):
    raise errors.LightCurveFileError("--{}_data_dir {} is not a directory".format(
        mission.name, data_dir), data_dir)
  if not mission.has_sectors:
    # The TESS-only flags at their defaults mean nothing for Kepler.
    tess_format = None if tess_format in (None, "auto") else tess_format
    sectors = None if sectors in (None, "catalog") else sectors
  config = records.RecordConfig(mission=mission.name, data_dir=data_dir,
                                trim_multisector=not reproduce_is_multi_quirk,
                                spline_backend=spline_backend, tess_format=tess_format,
                                flux_column=flux_column or None, sectors=sectors)
  if flux_column and tess_format not in (None, "auto", "h5"):
    from light_curve_util import tess_io  # noqa: PLC0415  (h5py; only this check needs it)
    if flux_column not in tess_io.FLUX_COLUMNS[tess_format]:
      raise errors.ConfigError("--flux_column for {} must be one of {}, got {!r}".format(
          tess_format, tess_io.FLUX_COLUMNS[tess_format], flux_column))
  return config.mission_config, config


def plan(input_tce_csv_file: Sequence[str], kepler_data_dir: str | None = None,
         tess_data_dir: str | None = None, num_train_shards: int = 8, clean: bool = False,
         threshold: float = 15, make_test_set: bool = False, test_set_min_sector: int = 4,
         reproduce_is_multi_quirk: bool = False, spline_backend: str = "numpy",
         tess_format: str | None = None, flux_column: str | None = None,
         sectors: str | None = None, **unused):
  """(mission, RecordConfig, partitions) of a record job (the record scripts' flags).

  Raises:
    ConfigError / LightCurveFileError: See record_config.
    CatalogError: Unreadable or bad catalog.
  """
  del unused
  mission, config = record_config(kepler_data_dir, tess_data_dir, reproduce_is_multi_quirk,
                                  spline_backend, tess_format, flux_column, sectors)
  table = read_catalog(mission, input_tce_csv_file, reproduce_is_multi_quirk)
  warn_unknown_labels(table, mission)
  if make_test_set:
    partitions = tce_table.partition_test_set(
        table, num_train_shards, clean, threshold, mission.snr_column,
        mission.sector_column, test_set_min_sector)
  else:
    partitions = tce_table.partition_tces(table, num_train_shards, clean, threshold,
                                          mission.snr_column)
  return mission, config, partitions


def read_catalog(mission: missions.Mission, csv_files: Sequence[str],
                 reproduce_is_multi_quirk: bool = False):
  """Reads the mission's catalog format (see `tce_table`)."""
  if not mission.has_sectors:
    if len(csv_files) != 1:
      raise errors.CatalogError(
          "Kepler takes one --input_tce_csv_file, got {}".format(csv_files))
    return tce_table.read_kepler_tce_table(csv_files[0], mission.label_column)
  return tce_table.read_tess_tce_table(csv_files, reproduce_is_multi_quirk)


def warn_unknown_labels(table, mission) -> None:
  """Logs the catalog rows whose label the mission's label map does not know.

  They are written (the originals kept every row), but train.py will refuse
  them; saying so now names the rows while the catalog is at hand.
  """
  label_map = configurations.base(mission.name)["inputs"]["label_map"]
  if mission.label_column not in table.columns:
    return
  unknown = table[~table[mission.label_column].astype(str).isin(list(label_map))]
  if len(unknown):
    rows = ", ".join("{}={!r}".format(mission.describe(row), row[mission.label_column])
                     for _, row in unknown.head(10).iterrows())
    logging.warning("%d catalog row(s) have a %s outside the label map %s (training "
                    "will refuse them): %s%s", len(unknown), mission.label_column,
                    sorted(label_map), rows, " ..." if len(unknown) > 10 else "")


def generate_records(partitions: Sequence[tce_table.Partition],
                     config: records.RecordConfig, output_dir: str,
                     num_worker_processes: int = 1,
                     start_method: str | None = None,
                     overwrite: bool = False) -> list[records.ShardResult]:
  """Writes one shard per partition into output_dir, resuming finished ones.

  Also (re)writes output_dir/failed_tces.csv, keeping the failures recorded
  for shards that were already finished.

  Returns:
    One ShardResult per partition, in partition order.
  """
  os.makedirs(output_dir, exist_ok=True)
  todo, results = records.split_finished_shards(partitions, output_dir, overwrite)
  tasks = [records.ShardTask(records.tce_rows(p.table),
                             os.path.join(output_dir, p.name), config) for p in todo]
  for result in records.run_shard_tasks(tasks, num_worker_processes,
                                        start_method):
    results[result.name] = result
  ordered = [results[p.name] for p in partitions]
  records.write_failures(os.path.join(output_dir, records.FAILED_TCES_FILE),
                         [f for r in ordered for f in r.failures])
  return ordered


def summarize(results: Sequence[records.ShardResult]) -> str:
  num_tces = sum(r.num_tces for r in results)
  num_written = sum(r.num_written for r in results)
  num_failed = sum(len(r.failures) for r in results)
  num_resumed = sum(r.resumed for r in results)
  return ("Finished {} shards ({} already present): {} TCEs, {} written, {} "
          "skipped (see {}).".format(len(results), num_resumed, num_tces,
                                     num_written, num_failed,
                                     records.FAILED_TCES_FILE))
