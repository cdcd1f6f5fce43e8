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

from absl import app
from absl import flags
from absl import logging

from astronet.util import script_flags
from tf_util import cli

FLAGS = flags.FLAGS


def define_flags() -> None:
  script_flags.define_record_flags()


def main(argv):
  del argv
  if not FLAGS.input_tce_csv_file or not FLAGS.output_dir:
    raise app.UsageError("--input_tce_csv_file and --output_dir are required")
  # pylint: disable=import-outside-toplevel
  from astronet.data import record_generation
  from astronet.data import records
  values = script_flags.record_flag_values()
  _, config, partitions = record_generation.plan(**values)
  with record_generation.guarded_output(FLAGS.output_dir, values, FLAGS.overwrite):
    results = record_generation.generate_records(partitions, config, FLAGS.output_dir,
                                                 FLAGS.num_worker_processes,
                                                 FLAGS.start_method, FLAGS.overwrite)
  logging.info("%s", record_generation.summarize(results))
  num_tces = sum(r.num_tces for r in results)
  if num_tces and not sum(r.num_written for r in results):
    cli.fail("every one of the {} TCEs failed (see {})".format(
        num_tces, os.path.join(FLAGS.output_dir, records.FAILED_TCES_FILE)), cli.EXIT_FAILURE)
  return 0


if __name__ == "__main__":
  cli.run(main, define_flags)  # Exits with main's return value.
