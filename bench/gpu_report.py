"""The GPU benchmarks of issue #21 in one prepared run -> bench/results/gpu.md.

Meant for one command on a GPU machine (about 5 minutes on one H200, under
the 10-minute limit of a device call):

  python bench/gpu_report.py            # on the GPU machine
  python bench/gpu_report.py --quick    # a smoke run (CPU, tiny sizes): checks the script

Runs, each in its own process with a time limit (a benchmark that fails or
times out is reported as such and the rest still run):
  * bench_ensemble: the 10-member Triage ensemble together vs one by one
    (float32, then mixed precision + XLA), and the estimated wall time of the
    10 x 14,000-step reproduction (target: <= 5 min on one H200);
  * bench_flares: flare transformer training and inference windows/s, and the
    epoch time of the shipped model's training set (2,049 windows);
  * bench_astromer: ASTROMER encode curves/s and pretraining steps/s.
Figures go to bench/results/gpu/*.json and the table to bench/results/gpu.md.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bench_util  # pylint: disable=g-import-not-at-top

# Training windows per epoch of the shipped flare_transformer (its card).
FLARE_TRAIN_WINDOWS = 2049


def _runs(quick: bool) -> list[tuple[str, str, list[str], int]]:
  """(name, benchmark, arguments, time limit in s)."""
  steps = ["--steps", "3", "--warmup_steps", "1", "--num_models", "2"] if quick else [
      "--steps", "300"]
  return [
      ("ensemble_float32", "bench_ensemble", steps, 240),
      ("ensemble_mixed_xla", "bench_ensemble", steps + ["--mixed_precision", "--jit_compile"],
       240),
      ("flares", "bench_flares", ["--num_windows", "64", "--train_steps", "2"] if quick else
       ["--num_windows", "8192", "--train_steps", "64"], 150),
      ("astromer", "bench_astromer", ["--num_curves", "32", "--train_steps", "2"] if quick
       else ["--train_steps", "50"], 150),
  ]


def _device() -> str:
  try:
    out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                         capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    return out or "no GPU"
  except (OSError, subprocess.SubprocessError):
    return "no GPU ({})".format(platform.processor() or platform.machine())


def _table(results: dict) -> list[str]:
  def fmt(value, spec="{:.3g}"):
    return "-" if value is None else spec.format(value)

  rows = []
  for name in ("ensemble_float32", "ensemble_mixed_xla"):
    r = results.get(name) or {}
    rows += [
        ("{}-member ensemble together ({})".format(r.get("num_models", "?"),
                                                  name.split("_", 1)[1]), "member-steps/s",
         fmt(bench_util.lookup(r, "together_member_steps_per_s")), ""),
        ("  vs one by one, step loop", "×", fmt(bench_util.lookup(r, "together_vs_sequential")), "≥ 1×"),
        ("  {} × 14,000-step reproduction, together (estimated)".format(
            r.get("num_models", "?")), "min",
         fmt(bench_util.lookup(r, "reproduction_minutes_together")), "≤ 5"),
    ]
  flares = results.get("flares") or {}
  train_rate = bench_util.lookup(flares, "transformer.train_windows_per_s")
  rows += [
      ("flare transformer training", "windows/s", fmt(train_rate), ""),
      ("  epoch of the shipped training set ({:,} windows)".format(FLARE_TRAIN_WINDOWS), "s",
       fmt(FLARE_TRAIN_WINDOWS / train_rate if train_rate else None), ""),
      ("flare transformer inference", "windows/s",
       fmt(bench_util.lookup(flares, "transformer.inference_windows_per_s")), ""),
  ]
  astromer = results.get("astromer") or {}
  rows += [
      ("ASTROMER pretraining, batch {}".format(astromer.get("batch_size", "?")), "steps/s",
       fmt(bench_util.lookup(astromer, "pretrain_steps_per_s")), ""),
      ("ASTROMER encode, 51 real MACHO curves", "curves/s",
       fmt(bench_util.lookup(astromer, "encode_real_macho_curves_per_s")), ""),
  ]
  return ["| workload | unit | value | target |", "|---|---|---|---|"] + [
      "| {} | {} | {} | {} |".format(*row) for row in rows]


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--quick", action="store_true", help="tiny sizes, to check the script")
  parser.add_argument("--output_dir", default=str(bench_util.RESULTS_DIR))
  args = parser.parse_args()
  out_dir = pathlib.Path(args.output_dir)
  (out_dir / "gpu").mkdir(parents=True, exist_ok=True)
  results, status = {}, {}
  for name, benchmark, bench_args, limit in _runs(args.quick):
    output = out_dir / "gpu" / (name + ".json")
    start = time.time()
    try:
      proc = subprocess.run([sys.executable, str(ROOT / "bench" / (benchmark + ".py")),
                             *bench_args, "--output", str(output)], cwd=ROOT, timeout=limit,
                            check=False)
      status[name] = "exit {}".format(proc.returncode)
    except subprocess.TimeoutExpired:
      status[name] = "timed out after {} s".format(limit)
    status[name] += " in {:.0f} s".format(time.time() - start)
    print("{}: {}".format(name, status[name]), flush=True)
    if output.exists() and status[name].startswith("exit 0"):
      results[name] = json.loads(output.read_text())
  lines = ["# GPU benchmarks (issue #21)", "",
           "`python bench/gpu_report.py`{} on {}, {}.".format(
               " --quick (smoke run, not figures)" if args.quick else "", _device(),
               time.strftime("%Y-%m-%d")), "",
           *_table(results), "",
           "Runs: " + "; ".join("{} {}".format(k, v) for k, v in status.items()) + "."]
  from tf_util import atomic_io  # pylint: disable=import-outside-toplevel
  with atomic_io.atomic_open(str(out_dir / "gpu.md")) as f:
    f.write("\n".join(lines) + "\n")
  print("\n".join(lines))
  return 0 if all(s.startswith("exit 0") for s in status.values()) else 1


if __name__ == "__main__":
  sys.exit(main())
