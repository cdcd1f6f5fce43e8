r"""Apache Beam variant of `generate_input_records.py`, for clusters.

Same flags, outputs, lock and manifest as generate_input_records.py (both plan with
astronet.data.record_generation), plus
Beam's pipeline options, e.g.:

  python astronet/data/beam_generate_input_records.py \
    --input_tce_csv_file=tces.csv --tess_data_dir=tess/ --output_dir=out/ \
    --runner=DirectRunner

On a Dask cluster (`pip install astronet-tf2[beam,dask]`; start a scheduler and
workers with `dask scheduler` / `dask worker tcp://HOST:8786`, or any
dask.distributed deployment), the same command with

    --runner=DaskRunner --dask_client_address=tcp://HOST:8786

(tested on a local cluster of two worker processes: byte-identical shards).
Flink / Spark / Dataflow take their own Beam options (--flink_master=...,
--spark_master_url=..., --project/--region/--temp_location).

TCEs are grouped by light curve (star, and sector for TESS) over all shards,
so each light curve is read and detrended once on one worker; the groups are
processed in parallel (`tce_views.process_star_group`, the same code as the
multiprocessing path), regrouped by shard and each shard written once, in
catalog order, so the shards are byte-identical to generate_input_records'.
Needs the optional extra: `pip install astronet-tf2[beam]`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from absl import flags
from absl import logging

from astronet.data import records
from astronet.data import tce_table
from astronet.data import tce_views
from astronet.util import script_flags
from tf_util import cli

FLAGS = flags.FLAGS

# Runners Beam ships but does not know by their short name.
RUNNER_ALIASES = {"DaskRunner": "apache_beam.runners.dask.dask_runner.DaskRunner"}


def runner_args(pipeline_args: Sequence[str]) -> list[str]:
  """pipeline_args with a short runner name of RUNNER_ALIASES made fully qualified."""
  out = []
  for arg in pipeline_args:
    name = arg.split("=", 1)[1] if arg.startswith("--runner=") else None
    out.append("--runner=" + RUNNER_ALIASES[name] if name in RUNNER_ALIASES else arg)
  return out


def define_flags() -> None:
  """Defines the command-line flags (only when run as a script, so that
  importing this module next to other scripts defines no duplicate flags)."""
  script_flags.define_record_flags()
  flags.DEFINE_string("runner", "DirectRunner", "Beam runner: DirectRunner, DaskRunner (with "
                      "--dask_client_address=HOST:PORT of a dask.distributed scheduler), "
                      "FlinkRunner, SparkRunner, DataflowRunner ...")


def _process_star(keyed, config: records.RecordConfig):
  """(light-curve key, [(shard, index, row)]) -> (shard, (index, record, failure))s."""
  _, items = keyed
  items = sorted(items, key=lambda item: (item[0], item[1]))
  for (shard, index, tce), (views, failure) in zip(
      items, tce_views.process_star_group(("", [t for _, _, t in items], config))):
    if failure is not None:
      failure.shard = shard
    serialized = None if views is None else records.serialize(
        {**tce, **tce_views.light_curve_provenance(tce, config)}, views)
    yield shard, (index, serialized, failure)


def _write_shard(keyed, output_dir: str) -> records.ShardResult:
  import apache_beam as beam  # pylint: disable=import-outside-toplevel
  shard, items = keyed
  items = sorted((i for i in items if i is not None), key=lambda i: i[0])
  failures = [f for _, _, f in items if f is not None]
  num_written = records.write_records_atomically(
      os.path.join(output_dir, shard), (s for _, s, _ in items if s is not None))
  beam.metrics.Metrics.counter("generate_input_records", "written").inc(num_written)
  beam.metrics.Metrics.counter("generate_input_records", "skipped").inc(len(failures))
  return records.ShardResult(shard, len(items), num_written, failures)


def _write_failures(results: Sequence[records.ShardResult], output_dir: str,
                    kept: Sequence[records.Failure]):
  by_name = {r.name: r for r in results}
  failures = list(kept) + [f for name in sorted(by_name)
                           for f in by_name[name].failures]
  records.write_failures(os.path.join(output_dir, records.FAILED_TCES_FILE),
                         failures)


def build_pipeline(pipeline, partitions: Sequence[tce_table.Partition],
                   config: records.RecordConfig, output_dir: str,
                   kept_failures: Sequence[records.Failure] = ()):
  """Adds the record-generation transforms for `partitions` to `pipeline`."""
  import apache_beam as beam  # pylint: disable=import-outside-toplevel
  items = [(p.name, i, row) for p in partitions
           for i, row in enumerate(records.tce_rows(p.table))]
  processed = (pipeline
               | "CreateTCEs" >> beam.Create(items)
               | "KeyByLightCurve" >> beam.Map(
                   lambda item: (tce_views.light_curve_key(item[2], config), item))
               | "GroupByLightCurve" >> beam.GroupByKey()
               | "ProcessStars" >> beam.FlatMap(_process_star, config))
  # Every shard gets a key, so empty shards are written too.
  shards = pipeline | "CreateShards" >> beam.Create(
      [(p.name, None) for p in partitions])
  results = ((processed, shards)
             | "Flatten" >> beam.Flatten()
             | "GroupByShard" >> beam.GroupByKey()
             | "WriteShards" >> beam.Map(_write_shard, output_dir))
  _ = (results
       | "CollectResults" >> beam.combiners.ToList()
       | "WriteFailures" >> beam.Map(_write_failures, output_dir,
                                     list(kept_failures)))
  return results


def run(partitions: Sequence[tce_table.Partition], config: records.RecordConfig,
        output_dir: str, overwrite: bool = False,
        pipeline_args: Sequence[str] = ("--runner=DirectRunner",)) -> list[str]:
  """Runs the pipeline for the shards not yet in output_dir; returns their names."""
  import apache_beam as beam  # pylint: disable=import-outside-toplevel
  from apache_beam.options.pipeline_options import PipelineOptions  # pylint: disable=import-outside-toplevel
  os.makedirs(output_dir, exist_ok=True)
  todo, finished = records.split_finished_shards(partitions, output_dir, overwrite)
  kept = [f for r in finished.values() for f in r.failures]
  if todo:
    with beam.Pipeline(options=PipelineOptions(runner_args(pipeline_args))) as pipeline:
      build_pipeline(pipeline, todo, config, output_dir, kept)
  return [p.name for p in todo]


def main(argv):
  from astronet.data import record_generation  # pylint: disable=import-outside-toplevel
  values = script_flags.record_flag_values()
  _, config, partitions = record_generation.plan(**values)
  pipeline_args = ["--runner={}".format(FLAGS.runner)] + list(argv[1:])
  with record_generation.guarded_output(FLAGS.output_dir, values, FLAGS.overwrite):
    written = run(partitions, config, FLAGS.output_dir, FLAGS.overwrite, pipeline_args)
  logging.info("Wrote %d shards with Beam (%s)", len(written), FLAGS.runner)
  return 0


if __name__ == "__main__":
  # Unknown flags (Beam pipeline options) are passed on to Beam.
  cli.run(main, define_flags, tensorflow=True, known_only=True)
