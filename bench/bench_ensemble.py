"""Benchmark of ensemble training: all members in one model vs one after another.

Trains the Triage AstroCNNModel ensemble (local_global, batch 64) on the real
records both ways:
  * together: astronet.ops.ensemble_training.EnsembleTrainer (one step for all
    members; what train_ensemble.py and `TOGETHER=1 ensemble_train.sh` run);
  * one after another: training.Trainer per member (what ensemble_train.sh
    does), timed for one member and counted num_models times.

Each way is timed as a training run spends its time, measured separately:
  * the step loop: `training_loop.run_steps` (the loop train() runs: input
    pipeline, step, NaN check, progress, loss summaries) over `--steps` steps
    after `--warmup_steps`, on one input pipeline as in one train() call;
  * one-time costs: the first step (tracing and instantiating the step
    function), one checkpoint of every member, the .keras export of every
    member.
The step-loop ratio is what decides a long run; the 10-member x 14,000-step
Triage reproduction is estimated from both parts (first step + 14,000 steps +
14 checkpoints + export; the one-by-one way pays its first step, checkpoints
and export once per member, and a process start per member that is not
counted here).

With --script_steps N it also times the scripts a user runs, whole processes
(start-up, tracing, evaluation at the end, checkpoints, exports):
`ensemble_train.sh DIR N records/` (train.py member after member) against
`TOGETHER=1 ensemble_train.sh` (train_ensemble.py, with this run's thread
flags).

Timing train() twice in one process would mislead: the ensemble's input
pipelines set TensorFlow's global seed per member (as train.py --seed does),
which clears the eager kernel cache, so a second train() call re-instantiates
the 10-member step (~6 s on 2 cores) once more. A real run calls train() once.

  python bench/bench_ensemble.py [--num_models 10 --steps 100] [--jit_compile]
      [--intra_op_threads 1 --inter_op_threads 2] [--script_steps 300]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bench_util  # pylint: disable=g-import-not-at-top

RECORDS = ROOT / "tests" / "data" / "triage" / "records"
REPRODUCTION_STEPS = 14000
SAVE_EVERY_STEPS = 1000


def _timed(fn) -> float:
  start = time.perf_counter()
  fn()
  return time.perf_counter() - start


def _measure(step_fn, batches, step_counter, writers, warmup_steps: int, steps: int,
             save, export) -> dict:
  """Seconds of the first step, of `steps` loop steps, of one save and one export."""
  import numpy as np  # pylint: disable=import-outside-toplevel

  from tf_util import training_loop  # pylint: disable=import-outside-toplevel
  first_step_s = _timed(lambda: np.asarray(step_fn(next(batches))))
  start = int(step_counter.numpy())
  training_loop.run_steps(step_fn, batches, step_counter, start + warmup_steps, [], writers,
                          verbose=False)
  loop_s = training_loop.run_steps(step_fn, batches, step_counter,
                                   start + warmup_steps + steps, [], writers, verbose=False)
  return {"first_step_s": first_step_s, "loop_s": loop_s, "save_s": _timed(save),
          "export_s": _timed(export)}


def _reproduction_minutes(costs: dict, steps: int, members_in_sequence: int) -> float:
  per_step = costs["loop_s"] / steps
  saves = REPRODUCTION_STEPS // SAVE_EVERY_STEPS
  run_s = (costs["first_step_s"] + REPRODUCTION_STEPS * per_step + saves * costs["save_s"]
           + costs["export_s"])
  return members_in_sequence * run_s / 60


def _script_seconds(model_dir: str, steps: int, num_models: int, env: dict) -> float:
  """Wall time of one ensemble_train.sh run on the bundled real records."""
  env = {**os.environ, "PYTHON": sys.executable, "NUM_MODELS": str(num_models), **env}
  start = time.perf_counter()
  subprocess.run(["bash", str(ROOT / "astronet" / "ensemble_train.sh"), model_dir, str(steps),
                  str(RECORDS)], env=env, check=True, stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL)
  return time.perf_counter() - start


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--train_files", default=str(RECORDS / "train-slice*"))
  parser.add_argument("--num_models", type=int, default=10)
  parser.add_argument("--steps", type=int, default=100)
  parser.add_argument("--warmup_steps", type=int, default=5)
  parser.add_argument("--jit_compile", action="store_true")
  parser.add_argument("--mixed_precision", action="store_true")
  parser.add_argument("--intra_op_threads", type=int, default=0,
                      help="TensorFlow intra-op threads (0: TensorFlow's default)")
  parser.add_argument("--inter_op_threads", type=int, default=0,
                      help="TensorFlow inter-op threads (0: TensorFlow's default)")
  parser.add_argument("--script_steps", type=int, default=0,
                      help="also time ensemble_train.sh both ways for this many steps "
                      "(whole processes; 0: skip)")
  parser.add_argument("--output", default=str(ROOT / "bench" / "results" /
                                              "bench_ensemble.json"))
  args = parser.parse_args()
  import tensorflow as tf  # pylint: disable=import-outside-toplevel

  from tf_util import distribute  # pylint: disable=import-outside-toplevel
  # The scripts' thread set-up, so both ways run as train.py / train_ensemble.py would.
  distribute.set_up_early(None, args.intra_op_threads, args.inter_op_threads)

  from astronet import models  # pylint: disable=import-outside-toplevel
  from astronet.ops import ensemble_training  # pylint: disable=import-outside-toplevel
  from astronet.ops import training  # pylint: disable=import-outside-toplevel
  config = models.get_model_config("AstroCNNModel", "local_global", "tess")
  seeds = list(range(1, args.num_models + 1))
  options = {"jit_compile": args.jit_compile, "mixed_precision": args.mixed_precision}
  with tempfile.TemporaryDirectory() as tmp:
    together = ensemble_training.EnsembleTrainer("AstroCNNModel", config, tmp + "/together",
                                                 seeds, **options)
    together_costs = _measure(
        together._train_step, iter(together.train_dataset(args.train_files, 15000)),  # pylint: disable=protected-access
        together.step,
        [tf.summary.create_file_writer(d + "/train") for d in together.member_dirs],
        args.warmup_steps, args.steps,
        lambda: [manager.save(checkpoint_number=1) for manager in together.managers],
        together.save_keras_models)

    alone = training.Trainer("AstroCNNModel", config, tmp + "/alone", **options)
    dataset = alone.strategy.experimental_distribute_dataset(
        alone.train_dataset(args.train_files, 15000, seed=1))
    alone_costs = _measure(
        alone._train_step, iter(dataset), alone.step,  # pylint: disable=protected-access
        [tf.summary.create_file_writer(tmp + "/alone/train")], args.warmup_steps, args.steps,
        lambda: alone.manager.save(checkpoint_number=1), alone.save_keras_model)

    scripts = {}
    if args.script_steps:
      threads = "--intra_op_threads={} --inter_op_threads={}".format(args.intra_op_threads,
                                                                    args.inter_op_threads)
      scripts["one_by_one_s"] = _script_seconds(tmp + "/script_one_by_one", args.script_steps,
                                                args.num_models, {})
      scripts["together_s"] = _script_seconds(tmp + "/script_together", args.script_steps,
                                              args.num_models,
                                              {"TOGETHER": "1", "TRAIN_FLAGS": threads})
      scripts["together_vs_one_by_one"] = scripts["one_by_one_s"] / scripts["together_s"]

  member_steps = args.num_models * args.steps
  sequential_loop_s = alone_costs["loop_s"] * args.num_models
  results = {
      "device": "GPU" if tf.config.list_physical_devices("GPU") else "CPU",
      "num_models": args.num_models, "steps": args.steps, **options,
      "intra_op_threads": args.intra_op_threads, "inter_op_threads": args.inter_op_threads,
      "together_member_steps_per_s": member_steps / together_costs["loop_s"],
      "sequential_member_steps_per_s": member_steps / sequential_loop_s,
      "together_vs_sequential": sequential_loop_s / together_costs["loop_s"],
      "together_one_time_s": together_costs,
      "alone_one_time_s": alone_costs,
      "script_steps": args.script_steps,
      "scripts": scripts,
      "reproduction_minutes_together": _reproduction_minutes(together_costs, args.steps, 1),
      "reproduction_minutes_sequential": _reproduction_minutes(alone_costs, args.steps,
                                                               args.num_models),
  }
  print("{} members on {}: step loop together {:.1f} member-steps/s, one after another {:.1f} "
        "-> ratio {:.2f}x".format(args.num_models, results["device"],
                                  results["together_member_steps_per_s"],
                                  results["sequential_member_steps_per_s"],
                                  results["together_vs_sequential"]))
  for name, costs in (("together", together_costs), ("one member alone", alone_costs)):
    print("  {}: first step {first_step_s:.1f} s, checkpoint {save_s:.2f} s, .keras export "
          "{export_s:.2f} s".format(name, **costs))
  if scripts:
    print("ensemble_train.sh, {} members x {} steps, whole processes: one by one {:.0f} s, "
          "TOGETHER=1 {:.0f} s -> {:.2f}x".format(args.num_models, args.script_steps,
                                                 scripts["one_by_one_s"], scripts["together_s"],
                                                 scripts["together_vs_one_by_one"]))
  print("Triage reproduction ({} members x {} steps, a checkpoint every {}): {:.0f} min "
        "together, {:.0f} min one after another (target on one H200: <= 5 min)".format(
            args.num_models, REPRODUCTION_STEPS, SAVE_EVERY_STEPS,
            results["reproduction_minutes_together"],
            results["reproduction_minutes_sequential"]))
  bench_util.write_results(args.output, results)


if __name__ == "__main__":
  main()
