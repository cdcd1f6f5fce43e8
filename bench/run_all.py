"""Runs every benchmark and writes bench/results/latest.json and latest.md (figure vs target).

  python bench/run_all.py [--skip bench_records,...] [--only bench_flares]

Each benchmark writes its own bench/results/<name>.json; this script runs them
one after the other (a failing one is reported and the rest still run), then
tabulates the figures next to the targets the issues set (CPU figures here;
GPU figures when run on a machine with a GPU).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bench_util  # pylint: disable=g-import-not-at-top

BENCHMARKS = ("bench_light_curve", "bench_records", "bench_train", "bench_ensemble",
              "bench_astrowavenet", "bench_astromer", "bench_flares", "bench_processes")

# Arguments run_all gives a benchmark: the ensemble is measured with the thread
# pools the README recommends for it on a CPU, and as whole ensemble_train.sh runs.
BENCHMARK_ARGS = {"bench_ensemble": ["--intra_op_threads", "1", "--inter_op_threads", "2",
                                     "--script_steps", "300"]}

# (benchmark, key in its JSON, what it is, unit, target or None)
FIGURES = (
    ("bench_light_curve", "kepler90i_tces_per_s", "Kepler TCE read + spline + views, 1 core",
     "TCEs/s", "≥ 10× the original (issue #21)"),
    ("bench_light_curve", "kepler90i_speedup_vs_pydl", "Kepler TCE, vs the same path with "
     "pydl's spline", "×", None),
    ("bench_original_views", "original_tces_per_s", "the original's Kepler view pipeline, "
     "run beside ours", "TCEs/s", None),
    ("bench_original_views", "speedup_vs_original", "Kepler TCE views vs the original run "
     "beside ours", "×", "≥ 10×"),
    ("bench_light_curve", "speedup_vs_index_walking_loop", "median_filter vs the original's loop",
     "×", None),
    ("bench_records", "kepler_tces_per_s_1_worker", "Kepler records, 1 worker", "TCEs/s",
     None),
    ("bench_records", "kepler_speedup_vs_original_1_worker",
     "Kepler records vs the original's way (pydl, no per-star reuse)", "×", "≥ 5×"),
    ("bench_records", "tess_tces_per_s_2_workers", "TESS records, 2 workers", "TCEs/s", None),
    ("bench_train", "train_steps_per_s", "Triage AstroCNNModel training, batch 64", "steps/s",
     "≥ 1.5× the original's 13.1"),
    ("bench_train", "train_vs_original_estimator", "training vs the original Estimator", "×",
     "≥ 1.5×"),
    ("bench_train", "batch_predict_tces_per_s", "batch_predict library path, 2 models",
     "TCEs/s", None),
    ("bench_processes", "batch_predict_1_model_onnx_s", "batch_predict.py whole process, 1 model,"
     " real test shard (onnx)", "s", "≤ 2.37 (3× the original's 7.1 s)"),
    ("bench_processes", "batch_predict_1_model_tensorflow_s", "the same on the TensorFlow "
     "backend", "s", None),
    ("bench_processes", "batch_predict_10_models_onnx_s", "batch_predict.py whole process, 10 "
     "members (onnx)", "s", "≥ 4× the original"),
    ("bench_processes", "batch_predict_10_models_tensorflow_s", "the same on the TensorFlow "
     "backend", "s", None),
    ("bench_processes", "help_max_s", "slowest --help (no TensorFlow import)", "s", "≤ 1"),
    ("bench_ensemble", "together_vs_sequential", "10 members in one model vs one by one, "
     "step loop", "×", "≥ 1×"),
    ("bench_ensemble", "scripts.together_vs_one_by_one", "TOGETHER=1 ensemble_train.sh vs "
     "one by one, 300 steps, whole processes", "×", "≥ 1×"),
    ("bench_ensemble", "reproduction_minutes_together",
     "Triage 10 members × 14,000 steps, wall time", "min", "≤ 5 on one H200 (GPU run)"),
    ("bench_astrowavenet", "train_windows_per_s", "AstroWaveNet training (1024 cadences)",
     "windows/s", None),
    ("bench_astromer", "encode_real_macho_curves_per_s", "ASTROMER encode, 51 real MACHO "
     "curves, batch 32", "curves/s", "≥ 4× the original's 9.2"),
    ("bench_astromer", "encode_vs_original", "ASTROMER encode vs astromer 0.1.8", "×", "≥ 4×"),
    ("bench_astromer", "pretrain_steps_per_s", "ASTROMER pretraining, batch 256", "steps/s",
     None),
    ("bench_flares", "transformer.train_windows_per_s", "flare transformer training",
     "windows/s", "≥ 140"),
    ("bench_flares", "transformer.inference_windows_per_s", "flare transformer inference",
     "windows/s", "≥ 400"),
    ("bench_flares", "transformer.light_curve_cadences_per_s", "flare transformer, whole "
     "sector (stride 10)", "cadences/s", "≥ 4× 440"),
    ("bench_flares", "cnn.train_windows_per_s", "flare CNN baseline training", "windows/s", None),
)


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--only", default="", help="comma-separated benchmarks to run")
  parser.add_argument("--skip", default="", help="comma-separated benchmarks not to run")
  parser.add_argument("--no_run", action="store_true", help="only tabulate existing results")
  args = parser.parse_args()
  chosen = [b for b in BENCHMARKS if (not args.only or b in args.only.split(","))
            and b not in args.skip.split(",")]
  status = {}
  for name in ([] if args.no_run else chosen):
    start = time.time()
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / (name + ".py")),
                           *BENCHMARK_ARGS.get(name, [])], cwd=ROOT, check=False)
    status[name] = {"returncode": proc.returncode, "seconds": time.time() - start}
    print("{}: exit {} in {:.0f} s".format(name, proc.returncode, status[name]["seconds"]))
  latest = {"runs": status, "results": {}}
  # bench_original_views needs an exoplanet-ml checkout: run by hand, tabulated if present.
  for name in BENCHMARKS + ("bench_original_views",):
    path = bench_util.RESULTS_DIR / (name + ".json")
    if path.exists():
      latest["results"][name] = json.loads(path.read_text())
  lines = ["| benchmark | figure | value | unit | target |", "|---|---|---|---|---|"]
  for name, key, what, unit, target in FIGURES:
    value = bench_util.lookup(latest["results"].get(name, {}), key)
    lines.append("| {} | {} | {} | {} | {} |".format(
        name, what, "-" if value is None else "{:.3g}".format(value), unit, target or ""))
  bench_util.write_results(str(bench_util.RESULTS_DIR / "latest.json"), latest)
  from tf_util import atomic_io  # pylint: disable=import-outside-toplevel
  with atomic_io.atomic_open(str(bench_util.RESULTS_DIR / "latest.md")) as f:
    f.write("\n".join(lines) + "\n")
  print("\n".join(lines))
  return 0 if all(s["returncode"] == 0 for s in status.values()) else 1


if __name__ == "__main__":
  sys.exit(main())
