"""The ORIGINAL exoplanet-ml Kepler view pipeline, timed beside this project's.

The reference of the "Kepler views ≥ 10× the original" figure of issue #21.
The original's preprocessing needs no TensorFlow beyond `tensorflow.gfile`, so
it runs on this machine from a checkout of google-research/exoplanet-ml:

  git clone https://github.com/google-research/exoplanet-ml
  python bench/bench_original_views.py --exoplanet_ml_dir exoplanet-ml/exoplanet-ml

Both pipelines read, detrend (the original: pydl's iterfit) and bin Kepler-90 i
from tests/data/kepler/fits; the best of --repeats is reported per stage, with
the ratio, and the views are compared value for value. To run today's stack
the original gets two shims, applied here and nowhere else: numpy 2's removed
`np.float`/`np.int` aliases, and `tensorflow.gfile` as `os.path.exists`/`open`
(a stub module, so TensorFlow is not imported).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time
import types

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
KEPLER_FITS_DIR = ROOT / "tests" / "data" / "kepler" / "fits"
KEPID, PERIOD, T0, DURATION = 11442793, 14.44912, 2.2, 0.11267  # Kepler-90 i (days)


def _best(stages_fn, repeats: int) -> tuple[np.ndarray, np.ndarray]:
  """(best per-stage seconds [read, spline, views], the views) over `repeats` runs."""
  best, views = None, None
  for _ in range(repeats):
    seconds, views = stages_fn()
    best = seconds if best is None or seconds.sum() < best.sum() else best
  return best, views


def _stages(read, detrend, views):
  """A function timing one TCE: read(kepid, dir), detrend(time, flux), views(time, flux)."""
  def run():
    t = [time.perf_counter()]
    all_time, all_flux = read(KEPID, str(KEPLER_FITS_DIR))
    t.append(time.perf_counter())
    tm, fl = detrend(all_time, all_flux)
    t.append(time.perf_counter())
    values = views(tm, fl)
    t.append(time.perf_counter())
    return np.diff(t), values
  return run


def original_stages():
  """A function timing one TCE with the original's preprocess module.

  Runs in a worker process whose sys.path starts with the exoplanet-ml folder:
  the original's packages (astronet, light_curve, tf_util, third_party) share
  names with this project's.
  """
  np.float = float  # Removed in numpy 2; the original still uses them.
  np.int = int
  stub = types.ModuleType("tensorflow")
  stub.gfile = types.SimpleNamespace(Exists=os.path.exists, Open=open)
  sys.modules["tensorflow"] = stub
  from astronet.data import preprocess as original  # pylint: disable=import-outside-toplevel
  # Every module of the original's packages must come from the checkout (an
  # incomplete one would silently borrow this project's robust_mean, say).
  checkout = os.path.realpath(sys.path[0])
  for name, module in list(sys.modules.items()):
    if name.split(".")[0] in ("astronet", "light_curve", "third_party", "tf_util"):
      path = getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", [])), "")
      if not os.path.realpath(path).startswith(checkout):
        raise SystemExit("{} was imported from {}, not from {}".format(name, path, checkout))

  def views(tm, fl):
    tm, fl = original.phase_fold_and_sort_light_curve(tm, fl, PERIOD, T0)
    return np.concatenate([original.global_view(tm, fl, PERIOD),
                           original.local_view(tm, fl, PERIOD, DURATION)])
  return _stages(original.read_light_curve, original.process_light_curve, views)


def project_stages():
  from astronet.data import preprocess  # pylint: disable=import-outside-toplevel

  def views(tm, fl):
    views = preprocess.generate_views(tm, fl, PERIOD, T0, DURATION)
    return np.concatenate([views["global_view"], views["local_view"]])
  return _stages(preprocess.read_light_curve, preprocess.process_light_curve, views)


def _original_in_worker(exoplanet_ml_dir: str, repeats: int) -> tuple[np.ndarray, np.ndarray]:
  out = subprocess.run(
      [sys.executable, __file__, "--worker", "--exoplanet_ml_dir", exoplanet_ml_dir,
       "--repeats", str(repeats)], capture_output=True, text=True, check=False,
      env={**os.environ, "PYTHONPATH": exoplanet_ml_dir})
  if out.returncode:
    raise SystemExit("the original's worker failed:\n" + out.stderr[-3000:])
  result = json.loads(out.stdout.strip().splitlines()[-1])
  return np.array(result["seconds"]), np.array(result["views"])


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--exoplanet_ml_dir", required=True,
                      help="the exoplanet-ml/ folder of a google-research/exoplanet-ml checkout")
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
  parser.add_argument("--output", default=str(ROOT / "bench" / "results" /
                                              "bench_original_views.json"))
  args = parser.parse_args()
  if not (pathlib.Path(args.exoplanet_ml_dir) / "astronet" / "data" / "preprocess.py").is_file():
    parser.error("{} has no astronet/data/preprocess.py".format(args.exoplanet_ml_dir))
  if args.worker:  # The original, alone in this process.
    sys.path.insert(0, args.exoplanet_ml_dir)
    seconds, views = _best(original_stages(), args.repeats)
    print(json.dumps({"seconds": seconds.tolist(), "views": views.tolist()}))
    return
  original_s, original_views = _original_in_worker(args.exoplanet_ml_dir, args.repeats)
  sys.path.insert(0, str(ROOT))
  from bench import bench_util  # pylint: disable=import-outside-toplevel
  ours_s, our_views = _best(project_stages(), args.repeats)
  results = {
      "original_tces_per_s": 1 / original_s.sum(),
      "original_stage_s": dict(zip(("read", "spline", "views"), original_s.tolist())),
      "tces_per_s": 1 / ours_s.sum(),
      "stage_s": dict(zip(("read", "spline", "views"), ours_s.tolist())),
      "speedup_vs_original": original_s.sum() / ours_s.sum(),
      "views_equal": bool(np.array_equal(original_views, our_views)),
      "views_max_abs_diff": float(np.max(np.abs(original_views - our_views))),
  }
  for name, seconds in (("original", original_s), ("this project", ours_s)):
    print("{}: {:.2f} TCEs/s ({:.3f} s: read {:.3f}, spline {:.3f}, fold+views {:.3f})".format(
        name, 1 / seconds.sum(), seconds.sum(), *seconds))
  print("ratio {:.1f}x; views equal: {} (max |diff| {:.3g})".format(
      results["speedup_vs_original"], results["views_equal"], results["views_max_abs_diff"]))
  bench_util.write_results(args.output, results)


if __name__ == "__main__":
  main()
