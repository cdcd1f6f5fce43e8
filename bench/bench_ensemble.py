"""Benchmark of ensemble training: all members in one model vs one after another.

Trains the Triage AstroCNNModel ensemble (local_global, batch 64) on the real
records for a few steps, both ways, after a warm-up:
  * together: astronet.ops.ensemble_training.EnsembleTrainer (one step for all
    members; what train_ensemble.py and `TOGETHER=1 ensemble_train.sh` run);
  * one after another: training.Trainer per member (what ensemble_train.sh does).
Prints member-steps/s of each, their ratio, and the wall time the 10-member x
14,000-step Triage reproduction would take at that speed (the scale issue's
GPU target is <= 5 minutes on one H100; on a CPU both ways are compute-bound
and about equal).

  python bench/bench_ensemble.py [--num_models 10 --steps 20] [--jit_compile]
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bench_util  # pylint: disable=g-import-not-at-top

RECORDS = ROOT / "tests" / "data" / "triage" / "records"
REPRODUCTION_STEPS = 14000


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--train_files", default=str(RECORDS / "train-slice*"))
  parser.add_argument("--num_models", type=int, default=10)
  parser.add_argument("--steps", type=int, default=20)
  parser.add_argument("--warmup_steps", type=int, default=3)
  parser.add_argument("--jit_compile", action="store_true")
  parser.add_argument("--mixed_precision", action="store_true")
  parser.add_argument("--output", default=str(ROOT / "bench" / "results" /
                                              "bench_ensemble.json"))
  args = parser.parse_args()
  import tensorflow as tf  # pylint: disable=import-outside-toplevel

  from astronet import models  # pylint: disable=import-outside-toplevel
  from astronet.ops import ensemble_training  # pylint: disable=import-outside-toplevel
  from astronet.ops import training  # pylint: disable=import-outside-toplevel
  config = models.get_model_config("AstroCNNModel", "local_global", "tess")
  seeds = list(range(1, args.num_models + 1))
  options = {"jit_compile": args.jit_compile, "mixed_precision": args.mixed_precision}
  with tempfile.TemporaryDirectory() as tmp:
    together = ensemble_training.EnsembleTrainer("AstroCNNModel", config, tmp + "/together",
                                                 seeds, **options)
    together.train(args.train_files, args.warmup_steps, save_every_steps=10**9, verbose=False)
    start = time.perf_counter()
    together.train(args.train_files, args.warmup_steps + args.steps, save_every_steps=10**9,
                   verbose=False)
    together_s = time.perf_counter() - start

    # One member alone, timed the same way; members one after another take
    # num_models times as long.
    alone = training.Trainer("AstroCNNModel", config, tmp + "/alone", **options)
    alone.train(args.train_files, args.warmup_steps, save_every_steps=10**9, seed=1,
                verbose=False)
    start = time.perf_counter()
    alone.train(args.train_files, args.warmup_steps + args.steps, save_every_steps=10**9,
                seed=1, verbose=False)
    alone_s = (time.perf_counter() - start) * args.num_models
  member_steps = args.num_models * args.steps
  results = {
      "device": "GPU" if tf.config.list_physical_devices("GPU") else "CPU",
      "num_models": args.num_models, "steps": args.steps, **options,
      "together_member_steps_per_s": member_steps / together_s,
      "sequential_member_steps_per_s": member_steps / alone_s,
      "together_vs_sequential": alone_s / together_s,
      "reproduction_minutes_together": REPRODUCTION_STEPS * together_s / args.steps / 60,
      "reproduction_minutes_sequential": REPRODUCTION_STEPS * alone_s / args.steps / 60,
  }
  print("{} members on {}: together {:.1f} member-steps/s, one after another {:.1f} "
        "-> ratio {:.2f}x".format(args.num_models, results["device"],
                                  results["together_member_steps_per_s"],
                                  results["sequential_member_steps_per_s"],
                                  results["together_vs_sequential"]))
  print("Triage reproduction ({} members x {} steps): {:.0f} min together, {:.0f} min one "
        "after another (target on one H100: <= 5 min)".format(
            args.num_models, REPRODUCTION_STEPS, results["reproduction_minutes_together"],
            results["reproduction_minutes_sequential"]))
  bench_util.write_results(args.output, results)


if __name__ == "__main__":
  main()
