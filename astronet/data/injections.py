"""Drawing synthetic transit signals for a catalog's stars (inject_transits.py's library).

Each drawn signal gets a new ephemeris; with probability injected_fraction it is
injected into the raw light curve (label PC), otherwise it is only the TCE
ephemeris of the untouched light curve (J for TESS, NTP for Kepler). Periods and
depths are log-uniform, durations and impact parameters uniform; durations are
capped at period / 8. The same inputs and seed give the same table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from astronet import missions
from astronet.data import records

# (positive, negative) label of each mission's label column.
LABELS = {"kepler": ("PC", "NTP"), "tess": ("PC", "J")}
INJECTIONS_FILE = "injections.csv"
MAX_DURATION_FRACTION = 1 / 8


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
