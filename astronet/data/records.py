"""Turning catalog rows into `tf.train.Example`s and writing record shards.

Shared by `generate_input_records` (multiprocessing), `inject_transits` and
the Beam pipeline. The parallel unit is one star of one shard (the TCEs of a
shard that share a light curve): worker processes run
`tce_views.process_star_group` (numpy only), which reads and detrends that
light curve once, and the parent builds the Examples and writes each shard, in
catalog order, as soon as its TCEs are done. So any number of workers is used
whatever the shard count, workers never import TensorFlow (cheap under
`spawn`), and the output does not depend on the number of workers.

A TCE that cannot be processed is skipped and reported as a `Failure`; the
rest of the shard is written. Shards are written to a temporary file and
renamed, so an interrupted run never leaves a truncated shard behind.

TensorFlow is imported lazily, so that importing this module (as spawned
workers do when they re-import the main script) stays cheap.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import logging
import multiprocessing
import os
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence

import numpy as np

from astronet.data import preprocess
from astronet.data import tce_views

# Re-exported: the TF-free half of the record pipeline.
from astronet.data.tce_views import INJECTED_COLUMN  # noqa: F401  pylint: disable=unused-import
from astronet.data.tce_views import INJECTION_COLUMNS  # noqa: F401  pylint: disable=unused-import
from astronet.data.tce_views import Failure  # noqa: F401  pylint: disable=unused-import
from astronet.data.tce_views import RecordConfig  # noqa: F401  pylint: disable=unused-import
from astronet.data.tce_views import compute_views  # noqa: F401  pylint: disable=unused-import
from astronet.data.tce_views import injection_from_row  # noqa: F401  pylint: disable=unused-import
from tf_util import atomic_io
from tf_util import cli
from tf_util import errors
from tf_util import hashing

logger = logging.getLogger(__name__)

FAILED_TCES_FILE = "failed_tces.csv"
FAILED_TCES_COLUMNS = ("id", "file", "reason", "shard", "tce")
_PROGRESS_EVERY = 100


def _tf():
  # Lazily (workers never need it), and without TensorFlow's start-up noise.
  return cli.import_tensorflow()


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


def make_example(tce: Mapping, views: Mapping[str, np.ndarray]):
  """A tf.train.Example with the views (float32) followed by every catalog column."""
  from tf_util import example_util  # noqa: PLC0415  (loads TensorFlow; records are planned and checked without it)
  ex = _tf().train.Example()
  for name, view in views.items():
    example_util.set_float_feature(ex, name, view)
  for name, value in tce.items():
    example_util.set_feature(ex, name, [value])
  return ex


def serialize(tce: Mapping, views: Mapping[str, np.ndarray]) -> bytes:
  """Deterministic (sorted-key) serialization, so equal records are equal bytes."""
  return make_example(tce, views).SerializeToString(deterministic=True)


def write_records_atomically(path: str, serialized: Iterable[bytes],
                             before_commit=None) -> int:
  """Writes serialized records to `path` via a temporary file; returns the count.

  `before_commit()`, if given, runs after every record is written and before
  the rename that makes the shard visible: files that belong to the shard
  (its failure list) are written there, so a kill leaves both or neither.
  """
  tf = _tf()
  tmp_path = atomic_io.temporary_path(path)
  count = 0
  try:
    with tf.io.TFRecordWriter(tmp_path) as writer:
      for record in serialized:
        writer.write(record)
        count += 1
    if before_commit is not None:
      before_commit()
    tf.io.gfile.rename(tmp_path, path, overwrite=True)
  finally:
    if tf.io.gfile.exists(tmp_path):
      tf.io.gfile.remove(tmp_path)
  return count


def count_records(path: str) -> int:
  """Number of records in a TFRecord file."""
  tf = _tf()
  return int(tf.data.TFRecordDataset(path).reduce(0, lambda n, _: n + 1))


def split_finished_shards(partitions, output_dir: str, overwrite: bool = False,
                          failed_path: str | None = None):
  """Separates partitions whose shard already exists in output_dir (resume).

  Args:
    partitions: Objects with `.name` (shard file name) and `.table`.
    output_dir: Output directory.
    overwrite: Treat every shard as unfinished.
    failed_path: failed_tces.csv of the earlier run (default: in output_dir).

  Returns:
    (partitions still to write, {name: ShardResult of a finished shard, with
    the failures recorded for it earlier}).
  """
  failed_path = failed_path or os.path.join(output_dir, FAILED_TCES_FILE)
  previous = read_failures(failed_path)
  atomic_io.remove_stale_temporaries(output_dir)
  todo, finished = [], {}
  for partition in partitions:
    path = os.path.join(output_dir, partition.name)
    if os.path.exists(path) and not overwrite:
      num_written = count_records(path)
      logger.info("Shard %s exists (%d records); skipping it (--overwrite to redo)",
                  partition.name, num_written)
      sidecar = shard_failures_path(path)
      # The shard's own failure list, committed with it; older outputs have
      # only failed_tces.csv.
      failures = (read_failures(sidecar) if os.path.exists(sidecar)
                  else [f for f in previous if f.shard == partition.name])
      finished[partition.name] = ShardResult(
          partition.name, len(partition.table), num_written, failures, resumed=True)
    else:
      todo.append(partition)
  return todo, finished


def star_groups(rows: Sequence[Mapping], config: RecordConfig) -> list[list[int]]:
  """Indices of `rows` grouped by light curve (star, and sector for TESS).

  Groups come in order of first appearance; indices within a group ascend.
  """
  groups: dict = {}
  for index, row in enumerate(rows):
    groups.setdefault(tce_views.light_curve_key(row, config), []).append(index)
  return list(groups.values())


def run_shard_tasks(tasks: Sequence[ShardTask], num_worker_processes: int = 1,
                    start_method: str | None = None) -> list[ShardResult]:
  """Processes every TCE of `tasks` and writes each shard.

  Args:
    tasks: Shards to write.
    num_worker_processes: Processes for the per-star work; 1 runs in-process.
    start_method: multiprocessing start method ("spawn", "fork",
      "forkserver"); the platform default if None.

  Returns:
    One ShardResult per task, in task order.
  """
  # Light curves kept from an earlier run in this process may have changed on disk.
  preprocess.clear_star_cache()
  grouped = [star_groups(t.rows, t.config) for t in tasks]
  items = [(os.path.basename(t.path), [t.rows[i] for i in group], t.config)
           for t, groups in zip(tasks, grouped) for group in groups]
  num_tces = sum(len(t.rows) for t in tasks)
  num_processes = min(num_worker_processes, max(len(items), 1))
  if num_processes <= 1:
    return _write_shards(tasks, grouped, map(tce_views.process_star_group, items),
                         num_tces)
  logger.info("Launching %d worker processes for %d TCEs (%d light curves) in %d shards",
              num_processes, num_tces, len(items), len(tasks))
  context = multiprocessing.get_context(start_method)
  chunksize = max(1, min(16, len(items) // (4 * num_processes)))
  with context.Pool(processes=num_processes) as pool:
    # imap keeps the order of the items, so shards come out as with one process.
    return _write_shards(tasks, grouped,
                         pool.imap(tce_views.process_star_group, items, chunksize),
                         num_tces)


def _write_shards(tasks, grouped, processed, num_tces) -> list[ShardResult]:
  """Writes each task's shard from `processed` (one result list per star group)."""
  results, done = [], 0
  for task, groups in zip(tasks, grouped):
    name = os.path.basename(task.path)
    failures = []

    def examples(task=task, groups=groups, failures=failures):
      nonlocal done
      by_row = {}
      for group in groups:
        for index, result in zip(group, next(processed)):
          by_row[index] = result
          done += 1
          if not done % _PROGRESS_EVERY:
            logger.info("Processed %d/%d TCEs", done, num_tces)
      for index, tce in enumerate(task.rows):  # Catalog order.
        views, failure = by_row.pop(index)
        if failure is not None:
          failures.append(failure)
        else:
          yield serialize({**tce, **tce_views.light_curve_provenance(tce, task.config)}, views)

    num_written = write_records_atomically(
        task.path, examples(),
        before_commit=lambda task=task, failures=failures: write_failures(
            shard_failures_path(task.path), failures))
    logger.info("Wrote %d/%d items in shard %s. %d skipped.", num_written,
                len(task.rows), name, len(failures))
    results.append(ShardResult(name, len(task.rows), num_written, failures))
  return results


MANIFEST_FILE = ".manifest.json"


def output_manifest(catalog_files: Sequence[str], settings: Mapping) -> dict:
  """What an output directory is built from: the catalogs' sha256 and the settings."""
  return {"catalogs": {os.path.basename(p): hashing.file_digest(p) for p in catalog_files},
          "settings": {k: settings[k] for k in sorted(settings)}}


def check_manifest(output_dir: str, manifest: Mapping, overwrite: bool = False) -> None:
  """Refuses to resume into an output_dir built from another catalog or other flags.

  Writes output_dir/.manifest.json when there is none (or with `overwrite`).

  Raises:
    OutputError: The directory's manifest differs (names what differs).
  """

  path = os.path.join(output_dir, MANIFEST_FILE)
  if os.path.exists(path) and not overwrite:
    with open(path) as f:
      try:
        existing = json.load(f)
      except ValueError:
        existing = {}
    wanted = json.loads(json.dumps(manifest))
    if existing != wanted:
      differing = sorted(
          {"catalog " + k for k in set(existing.get("catalogs", {})) | set(wanted["catalogs"])
           if existing.get("catalogs", {}).get(k) != wanted["catalogs"].get(k)} |
          {"--" + k for k in set(existing.get("settings", {})) | set(wanted["settings"])
           if existing.get("settings", {}).get(k) != wanted["settings"].get(k)})
      raise errors.OutputError(
          "{} holds records built from other inputs ({} differ); use another --output_dir, "
          "or --overwrite to rebuild it".format(output_dir, ", ".join(differing)), output_dir)
    return
  atomic_io.write_json(path, manifest)


@contextlib.contextmanager
def guarded_output_dir(output_dir: str, catalog_files: Sequence[str], settings: Mapping,
                       overwrite: bool = False):
  """The output directory of a record job, locked, and checked to hold (or receive)
  records of these catalogs and settings (see check_manifest).

  Remote outputs (gs://, ... of a Beam runner) are not locked or checked: the
  lock and manifest are local files.

  Raises:
    OutputBusyError: Another live job writes `output_dir`.
    OutputError: It holds records built from other inputs.
  """
  if "://" in output_dir:
    yield
    return
  with atomic_io.DirectoryLock(output_dir):
    check_manifest(output_dir, output_manifest(catalog_files, settings), overwrite)
    yield


def shard_failures_path(shard_path: str) -> str:
  """The failure list written with a shard: a hidden file no record glob matches."""
  directory, name = os.path.split(shard_path)
  return os.path.join(directory, ".{}.failures.csv".format(name))


def read_failures(path: str) -> list[Failure]:
  """Reads a failed_tces.csv written by `write_failures` (none if absent)."""
  tf = _tf()
  if not tf.io.gfile.exists(path):
    return []
  with tf.io.gfile.GFile(path, "r") as f:
    return [Failure(**{k: row.get(k, "") or "" for k in FAILED_TCES_COLUMNS})
            for row in csv.DictReader(f)]


def write_failures(path: str, failures: Sequence[Failure]) -> None:
  """Writes failed_tces.csv (id, file, reason, shard, tce) atomically."""
  tf = _tf()
  tmp_path = atomic_io.temporary_path(path)
  try:
    with tf.io.gfile.GFile(tmp_path, "w") as f:
      writer = csv.DictWriter(f, fieldnames=FAILED_TCES_COLUMNS)
      writer.writeheader()
      for failure in failures:
        writer.writerow(dataclasses.asdict(failure))
    tf.io.gfile.rename(tmp_path, path, overwrite=True)
  finally:
    if tf.io.gfile.exists(tmp_path):
      tf.io.gfile.remove(tmp_path)
