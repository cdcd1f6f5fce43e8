"""Benchmark of record generation: TCEs/s with 1 and 2 worker processes.

Runs the generate_input_records machinery (catalog rows -> shards on disk) on
the bundled data:
  * Kepler: the 8 Kepler-90 planets (real Q1-Q3 FITS; spline-bound),
  * TESS: 2000 TCEs on the Triage h5 light curves (read/clip/fold/bin-bound),
each with 1 and with 2 workers (spawn start method, as on macOS/Windows; worker
start-up is included), and prints TCEs/s and the 2-worker speed-up. Shards
from both runs are checked to be byte-identical.

The Kepler run is also timed the original's way (pydl spline, every TCE
detrended anew: `RecordConfig(spline_backend="pydl", cache_stars=False)`), on
one core, for the ratio the scale issue asks for (target >= 5x).

  python bench/bench_records.py
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time

import numpy as np
import pandas as pd

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from astronet.data import record_generation  # pylint: disable=g-import-not-at-top
from astronet.data import records
from astronet.data import tce_table
from bench import bench_util  # pylint: disable=g-import-not-at-top

DATA = ROOT / "tests" / "data"
# Kepler-90 b..h and i: period (d), t0 (BKJD), duration (d) (NASA Exoplanet Archive).
KEPLER90 = [(7.008151, 134.54, 0.1458), (8.719375, 137.41, 0.1446),
            (14.44912, 2.2, 0.11267), (59.73667, 140.5, 0.2246),
            (91.93913, 135.02, 0.2529), (124.9144, 164.68, 0.2773),
            (210.60697, 159.68, 0.4912), (331.60059, 140.49, 0.5363)]


def kepler_table() -> pd.DataFrame:
  return pd.DataFrame({
      "kepid": 11442793, "tce_plnt_num": np.arange(1, len(KEPLER90) + 1),
      "tce_period": [p for p, _, _ in KEPLER90], "tce_time0bk": [t for _, t, _ in KEPLER90],
      "tce_duration": [d for _, _, d in KEPLER90], "av_training_set": "PC"})


def tess_table(num_tces: int) -> pd.DataFrame:
  base = tce_table.read_tess_tce_table(str(DATA / "triage" / "synthetic_tces.csv"))
  rows = base.iloc[np.arange(num_tces) % len(base)].reset_index(drop=True)
  rng = np.random.RandomState(0)
  rows["Period"] = rows["Period"] * rng.uniform(0.9, 1.1, num_tces)
  rows["row_id"] = np.arange(num_tces)
  return rows


def time_run(table, config, num_workers, out_dir, num_shards=4):
  partitions = tce_table.split_into_shards(table, "bench", num_shards)
  start = time.perf_counter()
  results = record_generation.generate_records(partitions, config, out_dir, num_workers,
                                               "spawn", overwrite=True)
  elapsed = time.perf_counter() - start
  assert sum(r.num_written for r in results) == len(table), "some TCEs failed"
  return elapsed, {p.name: (pathlib.Path(out_dir) / p.name).read_bytes() for p in partitions}


def bench(name, table, config, tmp):
  t1, shards1 = time_run(table, config, 1, os.path.join(tmp, name + "1"))
  t2, shards2 = time_run(table, config, 2, os.path.join(tmp, name + "2"))
  assert shards1 == shards2, "1- and 2-worker shards differ"
  return {name + "_tces": len(table), name + "_tces_per_s_1_worker": len(table) / t1,
          name + "_tces_per_s_2_workers": len(table) / t2,
          name + "_speedup_2_vs_1_workers": t1 / t2}


def bench_kepler_vs_original(tmp) -> dict:
  """1 worker: the default config vs the original's way of working."""
  table = kepler_table()
  data_dir = str(DATA / "kepler" / "fits")
  ours, _ = time_run(table, records.RecordConfig("kepler", data_dir),
                     1, os.path.join(tmp, "ours"))
  original, _ = time_run(table, records.RecordConfig("kepler", data_dir, spline_backend="pydl",
                                                     cache_stars=False),
                         1, os.path.join(tmp, "original"))
  return {"kepler_original_tces_per_s_1_worker": len(table) / original,
          "kepler_speedup_vs_original_1_worker": original / ours}


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--num_tess_tces", type=int, default=2000)
  parser.add_argument("--output", default=str(ROOT / "bench" / "results" /
                                              "bench_records.json"))
  args = parser.parse_args()
  with tempfile.TemporaryDirectory() as tmp:
    # Warm-up (TensorFlow import and first record writes) outside the timings.
    time_run(kepler_table().iloc[:1], records.RecordConfig("kepler", str(DATA / "kepler" / "fits")),
             1, os.path.join(tmp, "warmup"), num_shards=1)
    results = {
        **bench("kepler", kepler_table(),
                records.RecordConfig("kepler", str(DATA / "kepler" / "fits")), tmp),
        **bench("tess", tess_table(args.num_tess_tces),
                records.RecordConfig("tess", str(DATA / "triage" / "lightcurves")), tmp),
        **bench_kepler_vs_original(tmp),
    }
  for name in ("kepler", "tess"):
    print("{} ({} TCEs): {:.3f} TCEs/s with 1 worker, {:.3f} TCEs/s with 2 workers "
          "-> ratio {:.2f}x".format(name, results[name + "_tces"],
                                    results[name + "_tces_per_s_1_worker"],
                                    results[name + "_tces_per_s_2_workers"],
                                    results[name + "_speedup_2_vs_1_workers"]))
  print("kepler, the original's way (pydl spline, no per-star reuse): {:.3f} TCEs/s "
        "-> ratio {:.1f}x".format(results["kepler_original_tces_per_s_1_worker"],
                                  results["kepler_speedup_vs_original_1_worker"]))
  bench_util.write_results(args.output, results)


if __name__ == "__main__":
  main()
