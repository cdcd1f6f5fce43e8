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

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
from absl import app
from absl import flags
from absl import logging

from astronet import missions
from astronet.data import record_generation
from astronet.data import records
from astronet.data import tce_table
from astronet.data import tev_catalog
from astronet.util import script_flags
from light_curve_util import transit_model
from tf_util import cli
from tf_util import errors

FLAGS = flags.FLAGS

# (positive, negative) label of each mission's label column.
LABELS = {"kepler": ("PC", "NTP"), "tess": ("PC", "J")}
INJECTIONS_FILE = "injections.csv"
MAX_DURATION_FRACTION = 1 / 8


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


def draw_injections(stars: pd.DataFrame, mission: missions.Mission,
                    num_injections: int = 1, injected_fraction: float = 0.5,
                    period_range=(1.0, 13.0), duration_range_hours=(1.0, 6.0),
                    depth_range_ppm=(500.0, 20000.0), impact_range=(0.0, 0.8),
                    shape: str = "box", limb_darkening=(0.4, 0.25),
                    seed: int = 0) -> pd.DataFrame:
  """One row per drawn signal: the star's catalog row with a new ephemeris.

  Args:
    stars: Catalog as read by `tce_table` (durations in days); one draw set per
      distinct (star id, sector) row.
    mission: KEPLER or TESS.
    ...: Ranges of the drawn parameters (see module docstring).
    seed: Seed; the same inputs and seed give the same table.

  Returns:
    DataFrame with the catalog columns (ephemeris and label replaced) plus
    `injected` and the `records.INJECTION_COLUMNS`.
  """
  keys = [mission.id_column] + ([mission.sector_column] if mission.sector_column else [])
  stars = stars.drop_duplicates(keys).reset_index(drop=True)
  rng = np.random.RandomState(seed)
  n = len(stars) * num_injections
  rows = stars.iloc[np.repeat(np.arange(len(stars)), num_injections)].reset_index(drop=True)
  period = np.exp(rng.uniform(*np.log(period_range), size=n))
  duration = rng.uniform(*duration_range_hours, size=n) / 24
  duration = np.minimum(duration, period * MAX_DURATION_FRACTION)
  depth_ppm = np.exp(rng.uniform(*np.log(depth_range_ppm), size=n))
  impact = rng.uniform(*impact_range, size=n)
  injected = rng.uniform(size=n) < injected_fraction
  t0 = rows[mission.t0_column].to_numpy(dtype=float) + rng.uniform(size=n) * period
  positive, negative = LABELS[mission.name]
  rows[mission.period_column] = period
  rows[mission.t0_column] = t0
  rows[mission.duration_column] = duration
  rows[mission.label_column] = np.where(injected, positive, negative)
  if "row_id" in rows.columns:
    rows["row_id"] = np.arange(n)
  if "is_multi" in rows.columns:
    rows["is_multi"] = False  # injections are per light-curve file
  rows[records.INJECTED_COLUMN] = injected
  rows["inj_period"], rows["inj_t0"], rows["inj_duration"] = period, t0, duration
  rows["inj_depth_ppm"], rows["inj_impact"] = depth_ppm, impact
  rows["inj_shape"] = shape
  rows["inj_u1"], rows["inj_u2"] = (float(u) for u in limb_darkening)
  return rows


def main(argv):
  del argv
  if not FLAGS.input_tce_csv_file or not FLAGS.output_dir:
    raise app.UsageError("--input_tce_csv_file and --output_dir are required")
  try:
    mission, config = record_generation.record_config(
        FLAGS.kepler_data_dir, FLAGS.tess_data_dir, tess_format=FLAGS.tess_format,
        flux_column=FLAGS.flux_column, sectors=FLAGS.sectors)
    stars = record_generation.read_catalog(mission, FLAGS.input_tce_csv_file, True)
    u1, u2 = (float(u) for u in FLAGS.limb_darkening)
    table = draw_injections(
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
      table, os.path.join(FLAGS.output_dir, INJECTIONS_FILE), index=False)
  config = records.RecordConfig(config.mission, config.data_dir,
                                trim_multisector=False, inject_transits=True)
  partitions = tce_table.partition_tces(table, FLAGS.num_train_shards)
  results = record_generation.generate_records(partitions, config, FLAGS.output_dir,
                                               FLAGS.num_worker_processes,
                                               FLAGS.start_method, FLAGS.overwrite)
  logging.info("%d signals (%d injected). %s", len(table),
               int(table[records.INJECTED_COLUMN].sum()), record_generation.summarize(results))
  return 0 if sum(r.num_written for r in results) or not len(table) else 1


if __name__ == "__main__":
  cli.run(main, define_flags)
