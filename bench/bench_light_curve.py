"""Benchmark of light_curve_util: median filter throughput and Kepler-90 views.

Prints:
  * median_filter points/s for 1e6 points -> 2001 bins, against two per-bin
    Python loops measured here: the original's index-walking loop (per point)
    and a per-bin loop using searchsorted + np.median (per bin);
  * Kepler-90 i end to end (read + spline + fold + both views) in TCEs/s, with
    the share of each stage, once with the vectorised spline and once with
    the original's pydl fitter (the reference), and their ratio.

  python bench/bench_light_curve.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from astronet.data import preprocess  # pylint: disable=g-import-not-at-top
from bench import bench_util  # pylint: disable=g-import-not-at-top
from light_curve_util import median_filter

KEPLER_FITS_DIR = ROOT / "tests" / "data" / "kepler" / "fits"


def index_walking_loop(x, y, num_bins, bin_width, x_min, x_max):
  """The original algorithm: two indices advanced point by point in Python."""
  spacing = (x_max - x_min - bin_width) / (num_bins - 1)
  result = np.repeat(np.median(y), num_bins)
  j_start = j_end = 0
  bin_min, bin_max = x_min, x_min + bin_width
  for i in range(num_bins):
    while j_start < len(x) and x[j_start] < bin_min:
      j_start += 1
    while j_end < len(x) and x[j_end] < bin_max:
      j_end += 1
    if j_end > j_start:
      result[i] = np.median(y[j_start:j_end])
    bin_min += spacing
    bin_max += spacing
  return result


def per_bin_searchsorted_loop(x, y, num_bins, bin_width, x_min, x_max):
  """A per-bin loop that finds each bin's points with searchsorted."""
  spacing = (x_max - x_min - bin_width) / (num_bins - 1)
  result = np.repeat(np.median(y), num_bins)
  bin_min = x_min
  for i in range(num_bins):
    lo, hi = np.searchsorted(x, [bin_min, bin_min + bin_width])
    if hi > lo:
      result[i] = np.median(y[lo:hi])
    bin_min += spacing
  return result


def best_time(fn, repeats):
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    out = fn()
    times.append(time.perf_counter() - start)
  return min(times), out


def bench_median_filter(repeats: int) -> dict:
  rng = np.random.RandomState(0)
  n = 1_000_000
  x = np.sort(rng.uniform(-0.5, 0.5, n))
  y = rng.standard_normal(n).astype(np.float32)
  args = (x, y, 2001, 1 / 2001, -0.5, 0.5)
  t_vec, out = best_time(lambda: median_filter.median_filter(*args), repeats)
  t_walk, ref_walk = best_time(lambda: index_walking_loop(*args), 1)
  t_bin, ref_bin = best_time(lambda: per_bin_searchsorted_loop(*args), repeats)
  assert np.array_equal(out, ref_walk) and np.array_equal(out, ref_bin)
  return {
      "median_filter_points_per_s": n / t_vec,
      "index_walking_loop_points_per_s": n / t_walk,
      "per_bin_loop_points_per_s": n / t_bin,
      "speedup_vs_index_walking_loop": t_walk / t_vec,
      "speedup_vs_per_bin_loop": t_bin / t_vec,
  }


def bench_kepler90(repeats: int, backend: str = "numpy") -> dict:
  kepid, period, t0, duration = 11442793, 14.44912, 2.2, 0.11267
  stages = {"read": [], "spline": [], "fold_and_views": []}
  for _ in range(repeats):
    t_start = time.perf_counter()
    all_time, all_flux = preprocess.read_light_curve(kepid, str(KEPLER_FITS_DIR))
    t_read = time.perf_counter()
    tm, fl = preprocess.process_light_curve(all_time, all_flux, spline_backend=backend)
    t_spline = time.perf_counter()
    preprocess.generate_views(tm, fl, period, t0, duration)
    t_views = time.perf_counter()
    stages["read"].append(t_read - t_start)
    stages["spline"].append(t_spline - t_read)
    stages["fold_and_views"].append(t_views - t_spline)
  best = {k: min(v) for k, v in stages.items()}
  total = sum(best.values())
  return {
      "kepler90i_tces_per_s": 1 / total,
      "kepler90i_seconds_per_tce": total,
      **{"share_" + k: v / total for k, v in best.items()},
  }


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--output", default=str(ROOT / "bench" / "results" /
                                              "bench_light_curve.json"))
  args = parser.parse_args()
  results = {**bench_median_filter(args.repeats), **bench_kepler90(args.repeats)}
  reference = bench_kepler90(args.repeats, backend="pydl")
  results["kepler90i_pydl_tces_per_s"] = reference["kepler90i_tces_per_s"]
  results["kepler90i_speedup_vs_pydl"] = (results["kepler90i_tces_per_s"] /
                                          reference["kepler90i_tces_per_s"])
  print("median_filter (1e6 points -> 2001 bins): {:,.0f} points/s".format(
      results["median_filter_points_per_s"]))
  print("  original index-walking loop:          {:,.0f} points/s  -> ratio {:.1f}x".format(
      results["index_walking_loop_points_per_s"], results["speedup_vs_index_walking_loop"]))
  print("  per-bin searchsorted + median loop:   {:,.0f} points/s  -> ratio {:.1f}x".format(
      results["per_bin_loop_points_per_s"], results["speedup_vs_per_bin_loop"]))
  print("Kepler-90 i end to end: {:.3f} TCEs/s ({:.2f} s/TCE; read {:.0%}, spline {:.0%}, "
        "fold+views {:.0%})".format(results["kepler90i_tces_per_s"],
                                   results["kepler90i_seconds_per_tce"],
                                   results["share_read"], results["share_spline"],
                                   results["share_fold_and_views"]))
  print("  with the original's pydl spline:      {:.3f} TCEs/s  -> ratio {:.1f}x".format(
      results["kepler90i_pydl_tces_per_s"], results["kepler90i_speedup_vs_pydl"]))
  bench_util.write_results(args.output, results)


if __name__ == "__main__":
  main()
