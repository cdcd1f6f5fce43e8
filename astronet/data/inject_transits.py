r"""Injects synthetic transits into real light curves and writes labelled records.

For transfer learning on a new data set: take the stars of a catalog, draw
transit signals (seeded), inject them into the RAW light curves (Kepler
PDCSAP flux, TESS KSP magnitudes) so they pass through the same detrending /
clipping as real transits, and write records exactly as
generate_input_records does (same views, features, split and shard names).

  python astronet/data/inject_transits.py --input_tce_csv_file=tces.csv \
    --tess_data_dir=tess/ --output_dir=injected/ --num_injections=4 \
    --shape=limb_darkened --seed=1

Each drawn signal is injected with probability --injected_fraction (label PC)
and otherwise only used as the TCE ephemeris of the untouched light curve
(label J for TESS, NTP for Kepler), so the set has both classes. Periods and
depths are drawn log-uniformly, durations and impact parameters uniformly;
durations are capped at period / 8. The draws are written to
`output_dir/injections.csv` (one row per record: the record's catalog
columns, durations in days as in the records, plus injected, inj_*), and are
reproducible by --seed.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

from absl import app
from absl import flags
from absl import logging

from astronet.util import script_flags
from light_curve_util import transit_model
from tf_util import cli
from tf_util import errors

FLAGS = flags.FLAGS

def define_flags() -> None:
  """Defines the command-line flags (only when run as a script)."""
  script_flags.define_record_flags()
  flags.DEFINE_integer("num_injections", 1, "Signals drawn per star (and sector).",
                       lower_bound=1)
  flags.DEFINE_float("injected_fraction", 0.5,
                     "Probability that a drawn signal is injected (label PC).")
  flags.DEFINE_list("period_range", ["1", "13"], "Period range (days), log-uniform.")
  flags.DEFINE_list("duration_range", ["1", "6"], "Duration range (hours), uniform.")
  flags.DEFINE_list("depth_range", ["500", "20000"], "Depth range (ppm), log-uniform.")
  flags.DEFINE_list("impact_range", ["0", "0.8"],
                    "Impact parameter range (limb_darkened), uniform.")
  flags.DEFINE_enum("shape", "box", list(transit_model.SHAPES), "Transit shape.")
  flags.DEFINE_list("limb_darkening", ["0.4", "0.25"],
                    "Quadratic limb-darkening coefficients u1,u2.")
  flags.DEFINE_integer("seed", 0, "Seed of the drawn signals.", lower_bound=0)


def _range(values: Sequence, name: str) -> tuple[float, float]:
  try:
    low, high = (float(v) for v in values)
  except (TypeError, ValueError):
    raise errors.InvalidTCEError("--{} must be two numbers, got {}".format(
        name, values)) from None
  if not 0 <= low <= high:
    raise errors.InvalidTCEError("--{} must satisfy 0 <= low <= high, got {}".format(
        name, values))
  return low, high


def main(argv):
  del argv
  if not FLAGS.input_tce_csv_file or not FLAGS.output_dir:
    raise app.UsageError("--input_tce_csv_file and --output_dir are required")
  # pylint: disable=import-outside-toplevel
  from astronet.data import injections
  from astronet.data import record_generation
  from astronet.data import records
  from astronet.data import tce_table
  from astronet.data import tev_catalog
  try:
    mission, config = record_generation.record_config(
        FLAGS.kepler_data_dir, FLAGS.tess_data_dir, tess_format=FLAGS.tess_format,
        flux_column=FLAGS.flux_column, sectors=FLAGS.sectors)
    stars = record_generation.read_catalog(mission, FLAGS.input_tce_csv_file, True)
    u1, u2 = (float(u) for u in FLAGS.limb_darkening)
    table = injections.draw_injections(
        stars, mission, FLAGS.num_injections, FLAGS.injected_fraction,
        _range(FLAGS.period_range, "period_range"),
        _range(FLAGS.duration_range, "duration_range"),
        _range(FLAGS.depth_range, "depth_range"),
        _range(FLAGS.impact_range, "impact_range"), FLAGS.shape, (u1, u2),
        FLAGS.seed)
  except (errors.CatalogError, errors.InvalidTCEError, ValueError) as e:
    cli.fail(str(e))
  os.makedirs(FLAGS.output_dir, exist_ok=True)
  tev_catalog.write_csv_atomically(
      table, os.path.join(FLAGS.output_dir, injections.INJECTIONS_FILE), index=False)
  # The light-curve settings of the flags (format, flux column, sectors) stay.
  config = dataclasses.replace(config, trim_multisector=False, inject_transits=True)
  partitions = tce_table.partition_tces(table, FLAGS.num_train_shards)
  results = record_generation.generate_records(partitions, config, FLAGS.output_dir,
                                               FLAGS.num_worker_processes,
                                               FLAGS.start_method, FLAGS.overwrite)
  logging.info("%d signals (%d injected). %s", len(table),
               int(table[records.INJECTED_COLUMN].sum()), record_generation.summarize(results))
  return 0 if sum(r.num_written for r in results) or not len(table) else 1


if __name__ == "__main__":
  cli.run(main, define_flags)
