"""Turning catalog rows into `tf.train.Example`s and writing record shards.

Shared by `generate_input_records` (multiprocessing), the Beam pipeline and
`inject_transits`. Everything a worker needs travels in its `ShardTask`, never
through absl FLAGS, so workers are safe under the `spawn` start method.

A TCE that cannot be processed (missing or corrupt file, too few points,
spline failure, degenerate view) is skipped and reported as a `Failure`;
the rest of the shard is written. Shards are written to a temporary file and
renamed, so an interrupted run never leaves a truncated shard behind.
"""

from __future__ import annotations

import csv
import dataclasses
import logging
import multiprocessing
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import tensorflow as tf

from astronet.data import preprocess
from tf_util import errors
from tf_util import example_util

logger = logging.getLogger(__name__)

FAILED_TCES_FILE = "failed_tces.csv"
FAILED_TCES_COLUMNS = ("id", "file", "reason", "shard", "tce")
_PROGRESS_EVERY = 10


@dataclasses.dataclass(frozen=True)
class RecordConfig:
  """How to turn catalog rows into records (picklable; passed to workers).

  Attributes:
    mission: "kepler" or "tess".
    data_dir: Base directory of the light curves.
    trim_multisector: TESS: keep only the TCE's own sector of a TIC that
      appears in several rows (see `preprocess.read_and_process_tce`).
  """
  mission: str
  data_dir: str
  trim_multisector: bool = True

  @property
  def mission_config(self) -> preprocess.Mission:
    return preprocess.get_mission(self.mission)


@dataclasses.dataclass
class Failure:
  """A TCE that was skipped, and why."""
  id: str
  file: str
  reason: str
  shard: str = ""
  tce: str = ""


@dataclasses.dataclass
class ShardTask:
  """One output shard: its rows (dicts of column -> value) and destination."""
  rows: list[dict]
  path: str
  config: RecordConfig


@dataclasses.dataclass
class ShardResult:
  name: str
  num_tces: int
  num_written: int
  failures: list[Failure]
  resumed: bool = False


def tce_rows(table) -> list[dict]:
  """Rows of a DataFrame as dicts of Python scalars, in table order.

  Integer columns give ints (-> int64 features), floats and bools floats,
  strings str, which `example_util.infer_kind` maps as the originals did.
  """
  return table.to_dict("records")


def make_example(tce: Mapping, views: Mapping[str, np.ndarray]) -> tf.train.Example:
  """An Example with the views (float32) followed by every catalog column."""
  ex = tf.train.Example()
  for name, view in views.items():
    example_util.set_float_feature(ex, name, view)
  for name, value in tce.items():
    example_util.set_feature(ex, name, [value])
  return ex


def compute_views(time: np.ndarray, flux: np.ndarray, tce: Mapping,
                  mission: preprocess.Mission) -> dict[str, np.ndarray]:
  """Folds and bins one TCE; numerical warnings count as a sparse light curve.

  Triage ran with warnings as errors and skipped a TCE whose views raised a
  RuntimeWarning; we do the same rather than write NaN or inf into a record.
  """
  period, t0, duration = mission.tce_params(tce)
  name = mission.describe(tce)
  with warnings.catch_warnings():
    warnings.simplefilter("error", RuntimeWarning)
    try:
      result = preprocess.generate_views(time, flux, period, t0, duration,
                                         mission, name)
    except RuntimeWarning as w:
      raise errors.SparseLightCurveError(
          "{}: invalid values while binning the views ({})".format(name, w)) from None
  for key, view in result.items():
    if not np.all(np.isfinite(view)):
      raise errors.DegenerateViewError(
          "{}: {} has non-finite values".format(name, key))
  return result


def process_tce(tce: Mapping, config: RecordConfig, time=None, flux=None
               ) -> tf.train.Example:
  """Reads, processes and bins one catalog row into an Example.

  Args:
    tce: Catalog row (column -> value); every column becomes a feature.
    config: Mission and data directory.
    time, flux: Optional already processed light curve (e.g. with injected
      transits); read from `config.data_dir` when None.
  """
  mission = config.mission_config
  if time is None:
    time, flux = preprocess.read_and_process_tce(tce, mission, config.data_dir,
                                                 config.trim_multisector)
  return make_example(tce, compute_views(time, flux, tce, mission))


# Per-TCE failures we log and skip. Anything else (a bug, MemoryError) is also
# contained to its TCE, but logged with its traceback.
_EXPECTED_FAILURES = (errors.AstronetError, OSError, ValueError,
                      ZeroDivisionError, FloatingPointError)


def try_process_tce(tce: Mapping, config: RecordConfig, shard: str = ""
                   ) -> tuple[tf.train.Example | None, Failure | None]:
  """`process_tce` that returns (None, Failure) instead of raising."""
  mission = config.mission_config
  try:
    return process_tce(tce, config), None
  except Exception as e:  # pylint: disable=broad-except
    if not isinstance(e, _EXPECTED_FAILURES):
      logger.exception("Unexpected error processing %s", mission.describe(tce))
    filename = getattr(e, "filename", None)
    if not filename:
      try:
        filename = preprocess.light_curve_location(tce, mission, config.data_dir)
      except Exception:  # pylint: disable=broad-except
        filename = ""
    reason = "{}: {}".format(type(e).__name__, e)
    logger.warning("Skipped %s: %s", mission.describe(tce), reason)
    return None, Failure(id=str(tce.get(mission.id_column, "")), file=str(filename),
                         reason=reason.replace("\n", " "), shard=shard,
                         tce=mission.describe(tce))


def write_records_atomically(path: str, serialized: Iterable[bytes]) -> int:
  """Writes serialized records to `path` via a temporary file; returns the count."""
  tmp_path = "{}.tmp-{}".format(path, os.getpid())
  count = 0
  try:
    with tf.io.TFRecordWriter(tmp_path) as writer:
      for record in serialized:
        writer.write(record)
        count += 1
    tf.io.gfile.rename(tmp_path, path, overwrite=True)
  finally:
    if tf.io.gfile.exists(tmp_path):
      tf.io.gfile.remove(tmp_path)
  return count


def count_records(path: str) -> int:
  """Number of records in a TFRecord file."""
  return int(tf.data.TFRecordDataset(path).reduce(0, lambda n, _: n + 1))


def write_shard(task: ShardTask) -> ShardResult:
  """Processes every row of a shard and writes the shard atomically."""
  process_name = multiprocessing.current_process().name
  name = os.path.basename(task.path)
  num_tces = len(task.rows)
  logger.info("%s: Processing %d items in shard %s", process_name, num_tces, name)
  failures = []

  def examples():
    for i, tce in enumerate(task.rows):
      example, failure = try_process_tce(tce, task.config, name)
      if failure is not None:
        failures.append(failure)
      else:
        yield example.SerializeToString(deterministic=True)
      if not (i + 1) % _PROGRESS_EVERY:
        logger.info("%s: Processed %d/%d items in shard %s", process_name, i + 1,
                    num_tces, name)

  num_written = write_records_atomically(task.path, examples())
  logger.info("%s: Wrote %d/%d items in shard %s. %d skipped.", process_name,
              num_written, num_tces, name, len(failures))
  return ShardResult(name, num_tces, num_written, failures)


def run_shard_tasks(tasks: Sequence[ShardTask], num_worker_processes: int = 1,
                    start_method: str | None = None) -> list[ShardResult]:
  """Writes the shards, in worker processes when `num_worker_processes` > 1.

  Args:
    tasks: Shards to write.
    num_worker_processes: Number of processes (at most one per shard).
    start_method: multiprocessing start method ("spawn", "fork",
      "forkserver"); the platform default if None.

  Returns:
    One ShardResult per task, in task order.
  """
  num_processes = min(len(tasks), num_worker_processes)
  if num_processes <= 1:
    return [write_shard(task) for task in tasks]
  logger.info("Launching %d subprocesses for %d total file shards",
              num_processes, len(tasks))
  context = multiprocessing.get_context(start_method)
  with context.Pool(processes=num_processes) as pool:
    # Results are fetched in order, so a worker's exception surfaces here.
    return list(pool.imap(write_shard, tasks, chunksize=1))


def read_failures(path: str) -> list[Failure]:
  """Reads a failed_tces.csv written by `write_failures` (none if absent)."""
  if not tf.io.gfile.exists(path):
    return []
  with tf.io.gfile.GFile(path, "r") as f:
    return [Failure(**{k: row.get(k, "") or "" for k in FAILED_TCES_COLUMNS})
            for row in csv.DictReader(f)]


def write_failures(path: str, failures: Sequence[Failure]) -> None:
  """Writes failed_tces.csv (id, file, reason, shard, tce) atomically."""
  tmp_path = "{}.tmp-{}".format(path, os.getpid())
  with tf.io.gfile.GFile(tmp_path, "w") as f:
    writer = csv.DictWriter(f, fieldnames=FAILED_TCES_COLUMNS)
    writer.writeheader()
    for failure in failures:
      writer.writerow(dataclasses.asdict(failure))
  tf.io.gfile.rename(tmp_path, path, overwrite=True)
