"""Benchmark of training and batch prediction for the Triage AstroCNNModel config.

  * training: examples/s of Trainer.train (tf.data from the real records,
    reversal, shuffling, Adam, batch 64) after a warm-up;
  * batch_predict: TCEs/s of reading the records and predicting them with a
    2-model ensemble (ops.prediction, batches of 256), and the ratio to the
    original's path of one record per model call (batch of 1).

Uses the bundled slice of the real Astronet-Triage records (tests/data), or
--train_files / --predict_files (e.g. the full shards).

  python bench/bench_train.py [--train_steps 60]
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # pylint: disable=g-import-not-at-top

from bench import bench_util  # pylint: disable=g-import-not-at-top

RECORDS = ROOT / "tests" / "data" / "triage" / "records"
# The original Astronet-Triage Estimator on this machine kind, batch 64 (issue #21's figure).
ORIGINAL_STEPS_PER_S = 13.1


def bench_training(train_files: str, steps: int, warmup: int, model_dir: str) -> dict:
  from astronet import models  # pylint: disable=import-outside-toplevel
  from astronet.ops import training  # pylint: disable=import-outside-toplevel
  config = models.get_model_config("AstroCNNModel", "local_global", "tess")
  trainer = training.Trainer("AstroCNNModel", config, model_dir)
  trainer.train(train_files, warmup, save_every_steps=10**9, seed=0, verbose=False)
  start = time.perf_counter()
  trainer.train(train_files, warmup + steps, save_every_steps=10**9, seed=1, verbose=False)
  elapsed = time.perf_counter() - start
  batch = int(config["hparams"]["batch_size"])
  return {"train_steps": steps, "train_batch_size": batch,
          "train_examples_per_s": steps * batch / elapsed,
          "train_steps_per_s": steps / elapsed,
          "train_vs_original_estimator": steps / elapsed / ORIGINAL_STEPS_PER_S,
          "train_ms_per_step": 1000 * elapsed / steps}, trainer


def bench_prediction(trainer, predict_files: list[str]) -> dict:
  from astronet.astro_model import configurations  # pylint: disable=import-outside-toplevel
  from astronet.ops import prediction  # pylint: disable=import-outside-toplevel
  lengths = configurations.feature_lengths(trainer.config)
  members = [prediction.Member("a", trainer.model, lengths),
             prediction.Member("b", trainer.model, lengths)]
  prediction.predict_members(members, prediction.read_records(predict_files[:1], lengths))
  start = time.perf_counter()
  records = prediction.read_records(predict_files, lengths)
  probabilities = prediction.predict_members(members, records)
  prediction.average_by_key(records.ids.tolist(), probabilities)
  batched = time.perf_counter() - start
  # The original fed one serialized record per session.run: batch of 1.
  subset = records.subset(np.arange(len(records)) < 200)
  start = time.perf_counter()
  one_by_one = prediction.predict_members(members, subset, batch_size=1)
  single = (time.perf_counter() - start) / len(subset) * len(records)
  np.testing.assert_allclose(one_by_one, probabilities[:, :len(subset)], atol=1e-6)
  return {"predict_records": len(records), "predict_members": len(members),
          "batch_predict_tces_per_s": len(records) / batched,
          "batch1_tces_per_s": len(records) / single,
          "batched_vs_batch1_ratio": single / batched}


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--train_files", default=str(RECORDS / "train-slice*"))
  parser.add_argument("--predict_files", default=str(RECORDS / "*-slice-*"))
  parser.add_argument("--train_steps", type=int, default=60)
  parser.add_argument("--warmup_steps", type=int, default=5)
  parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "bench_train.json"))
  args = parser.parse_args()
  from astronet.ops import dataset_ops  # pylint: disable=import-outside-toplevel
  with tempfile.TemporaryDirectory() as tmp:
    results, trainer = bench_training(args.train_files, args.train_steps, args.warmup_steps, tmp)
    results.update(bench_prediction(trainer, dataset_ops.expand_file_pattern(args.predict_files)))
  print("training (Triage AstroCNNModel, batch {}): {:.1f} examples/s ({:.1f} steps/s, {:.0f} "
        "ms/step; {:.1f}x the original Estimator's 13.1 steps/s)".format(
            results["train_batch_size"], results["train_examples_per_s"],
            results["train_steps_per_s"], results["train_ms_per_step"],
            results["train_vs_original_estimator"]))
  print("batch_predict ({} records, {} models): {:.1f} TCEs/s; batch of 1 (original's path): "
        "{:.1f} TCEs/s -> ratio {:.1f}x".format(
            results["predict_records"], results["predict_members"],
            results["batch_predict_tces_per_s"], results["batch1_tces_per_s"],
            results["batched_vs_batch1_ratio"]))
  bench_util.write_results(args.output, results)


if __name__ == "__main__":
  main()
