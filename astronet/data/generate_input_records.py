r"""Generates TFRecords of labelled TCEs (Kepler or TESS) for training.

Port of the two originals' `generate_input_records.py` as one script:

  # Kepler (exoplanet-ml): DR24 TCE table + MAST-layout FITS files.
  python astronet/data/generate_input_records.py \
    --input_tce_csv_file=dr24_tce.csv --kepler_data_dir=kepler/ \
    --output_dir=tfrecord/ --num_worker_processes=5

  # TESS (Astronet-Triage): tces.csv + sector-{S}/{tic}.h5 files.
  python astronet/data/generate_input_records.py \
    --input_tce_csv_file=tces.csv --tess_data_dir=tess/ \
    --output_dir=tfrecord/ [--clean --threshold=15] [--make_test_set]

Outputs train-0000N-of-00008, val-00000-of-00001, test-00000-of-00001 (or
test-0000N-of-00008 with --make_test_set), each record holding global_view,
local_view and every catalog column. TCEs that fail are listed in
failed_tces.csv. Finished shards are kept on a re-run (--overwrite redoes
them), so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from absl import app
from absl import flags
from absl import logging

from tf_util import cli
from tf_util import errors

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defines the command-line flags (only when run as a script, so that
  importing this module next to other scripts defines no duplicate flags)."""
  flags.DEFINE_list(
      "input_tce_csv_file", None,
      "TCE catalog CSV file(s), comma-separated. Kepler: DR24 TCE table with "
      "rowid, kepid, tce_plnt_num, tce_period, tce_time0bk, tce_duration (hours), "
      "av_training_set. TESS: Triage tces.csv (row_id, tic_id, toi_id, "
      "Disposition, ..., Epoc, Period, Duration (hours), ..., SN).")
  flags.DEFINE_string("kepler_data_dir", None, "Base folder containing Kepler data.")
  flags.DEFINE_string("tess_data_dir", None,
                      "Base folder containing TESS data (sector-{S}/{tic}.h5).")
  flags.DEFINE_string("output_dir", None, "Directory in which to save the output.")
  flags.DEFINE_integer("num_train_shards", 8,
                       "Number of file shards to divide the training set into "
                       "(and the test set, with --make_test_set).", lower_bound=1,
                       upper_bound=99999)
  flags.DEFINE_integer("num_worker_processes", 5,
                       "Number of subprocesses for processing the TCEs in parallel.",
                       lower_bound=1, upper_bound=1024)
  flags.DEFINE_enum("start_method", None, ["spawn", "fork", "forkserver"],
                    "multiprocessing start method; the platform default if unset.")
  flags.DEFINE_boolean("clean", False,
                       "Exclude train/val TCEs with S/N below --threshold.")
  flags.DEFINE_float("threshold", 15, "Exclude TCEs with S/N below this if --clean.")
  flags.DEFINE_boolean("make_test_set", False,
                       "Generate just a test set (TESS: Sectors >= "
                       "--test_set_min_sector) rather than train/val/test.")
  flags.DEFINE_integer("test_set_min_sector", 4,
                       "First sector included by --make_test_set (Triage: 4).", lower_bound=1)
  flags.DEFINE_boolean("overwrite", False,
                       "Rewrite shards that already exist in --output_dir.")
  flags.DEFINE_boolean(
      "reproduce_is_multi_quirk", False,
      "TESS: write is_multi=0 for every TCE and never trim multi-sector light "
      "curves, as the original did by accident. Gives records identical to the "
      "published Triage shards.")
  flags.DEFINE_enum(
      "spline_backend", "numpy", ["numpy", "pydl"],
      "Kepler spline fitter: 'numpy' (vectorised, same fit to ~1e-14) or 'pydl' "
      "(the original's, several times slower).")


def read_catalog(mission: preprocess.Mission, csv_files: Sequence[str],
                 reproduce_is_multi_quirk: bool = False):
  """Reads the mission's catalog format (see `tce_table`)."""
  from astronet.data import tce_table  # pylint: disable=import-outside-toplevel
  if mission.sector_column is None:
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
  from astronet.astro_model import configurations  # pylint: disable=import-outside-toplevel
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
  from astronet.data import records  # pylint: disable=import-outside-toplevel
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
  from astronet.data import records  # pylint: disable=import-outside-toplevel
  num_tces = sum(r.num_tces for r in results)
  num_written = sum(r.num_written for r in results)
  num_failed = sum(len(r.failures) for r in results)
  num_resumed = sum(r.resumed for r in results)
  return ("Finished {} shards ({} already present): {} TCEs, {} written, {} "
          "skipped (see {}).".format(len(results), num_resumed, num_tces,
                                     num_written, num_failed,
                                     records.FAILED_TCES_FILE))


def config_from_flags():
  """(mission, RecordConfig) from the command-line flags.

  Raises:
    app.UsageError: Inconsistent flags.
  """
  from astronet.data import preprocess  # pylint: disable=import-outside-toplevel
  from astronet.data import records  # pylint: disable=import-outside-toplevel
  if bool(FLAGS.kepler_data_dir) == bool(FLAGS.tess_data_dir):
    raise app.UsageError("Give exactly one of --kepler_data_dir and --tess_data_dir")
  if not FLAGS.input_tce_csv_file or not FLAGS.output_dir:
    raise app.UsageError("--input_tce_csv_file and --output_dir are required")
  mission = preprocess.KEPLER if FLAGS.kepler_data_dir else preprocess.TESS
  data_dir = FLAGS.kepler_data_dir or FLAGS.tess_data_dir
  if "://" not in data_dir and not os.path.isdir(data_dir):
    raise errors.LightCurveFileError("--{}_data_dir {} is not a directory".format(
        mission.name, data_dir), data_dir)
  config = records.RecordConfig(
      mission=mission.name,
      data_dir=FLAGS.kepler_data_dir or FLAGS.tess_data_dir,
      trim_multisector=not FLAGS.reproduce_is_multi_quirk,
      spline_backend=FLAGS.spline_backend)
  return mission, config


def plan_from_flags():
  """(mission, RecordConfig, partitions) from the command-line flags.

  Raises:
    app.UsageError: Inconsistent flags.
    CatalogError: Unreadable or bad catalog.
  """
  from astronet.data import tce_table  # pylint: disable=import-outside-toplevel
  mission, config = config_from_flags()
  table = read_catalog(mission, FLAGS.input_tce_csv_file,
                       FLAGS.reproduce_is_multi_quirk)
  warn_unknown_labels(table, mission)
  if FLAGS.make_test_set:
    partitions = tce_table.partition_test_set(
        table, FLAGS.num_train_shards, FLAGS.clean, FLAGS.threshold,
        mission.snr_column, mission.sector_column, FLAGS.test_set_min_sector)
  else:
    partitions = tce_table.partition_tces(
        table, FLAGS.num_train_shards, FLAGS.clean, FLAGS.threshold,
        mission.snr_column)
  return mission, config, partitions


def settings_from_flags() -> dict:
  """The flags that change the records (kept in the output's manifest)."""
  return {name: FLAGS[name].value for name in (
      "kepler_data_dir", "tess_data_dir", "num_train_shards", "clean", "threshold",
      "make_test_set", "test_set_min_sector", "reproduce_is_multi_quirk", "spline_backend")}


def main(argv):
  from astronet.data import records  # pylint: disable=import-outside-toplevel
  from tf_util import atomic_io  # pylint: disable=import-outside-toplevel
  del argv
  _, config, partitions = plan_from_flags()
  manifest = records.output_manifest(FLAGS.input_tce_csv_file, settings_from_flags())
  with atomic_io.DirectoryLock(FLAGS.output_dir):
    records.check_manifest(FLAGS.output_dir, manifest, FLAGS.overwrite)
    results = generate_records(partitions, config, FLAGS.output_dir,
                               FLAGS.num_worker_processes, FLAGS.start_method,
                               FLAGS.overwrite)
  logging.info("%s", summarize(results))
  num_tces = sum(r.num_tces for r in results)
  if num_tces and not sum(r.num_written for r in results):
    cli.fail("every one of the {} TCEs failed (see {})".format(
        num_tces, os.path.join(FLAGS.output_dir, records.FAILED_TCES_FILE)), cli.EXIT_FAILURE)
  return 0


if __name__ == "__main__":
  cli.run(main, define_flags)  # Exits with main's return value.
