"""Reproduction of the Astronet-Triage ensemble result on the real records.

Evaluates every member of an ensemble trained by

  astronet/ensemble_train.sh ${MODEL_DIR} 14000 ${TFRECORD_DIR}

and their average (batch_predict --average semantics per record) on the
validation shard, and writes bench/results/triage_reproduction.md with the
figures, the command and the training wall time (from each model_dir's
training.json).

  python bench/triage_reproduction.py --model_dir=${MODEL_DIR} --tfrecord_dir=${TFRECORD_DIR}
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # pylint: disable=g-import-not-at-top

from bench import bench_util  # pylint: disable=g-import-not-at-top

TARGET_AUC, TARGET_ACCURACY = 0.988, 0.96


def member_summary(model_dir: str) -> dict:
  """Steps (latest checkpoint), seed and training wall time of one member.

  The wall time sums the runs of training.json; without it (runs of older
  versions) it is the time from config.json to the last checkpoint.
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  latest = tf.train.latest_checkpoint(model_dir)
  steps = int(latest.rsplit("-", 1)[1]) if latest else None
  path = os.path.join(model_dir, "training.json")
  runs = json.load(open(path))["runs"] if os.path.exists(path) else []
  wall = sum(r["wall_s"] for r in runs)
  if not runs and latest:
    wall = (os.path.getmtime(latest + ".index")
            - os.path.getmtime(os.path.join(model_dir, "config.json")))
  seed = runs[0]["seed"] if runs else None
  if seed is None:
    digits = "".join(c for c in os.path.basename(model_dir) if c.isdigit())
    seed = int(digits) if digits else None  # ensemble_train.sh: model_i has seed i
  return {"steps": steps, "wall_s": wall, "seed": seed}


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--model_dir", required=True)
  parser.add_argument("--tfrecord_dir", required=True)
  parser.add_argument("--train_steps", type=int, default=14000)
  parser.add_argument("--output", default=str(ROOT / "bench" / "results" /
                                              "triage_reproduction.md"))
  args = parser.parse_args()
  # pylint: disable=import-outside-toplevel
  from astronet.ops import metrics
  from astronet.ops import prediction
  members = prediction.load_members(args.model_dir, average=True)
  finished = [m for m in members if member_summary(m.name)["steps"] == args.train_steps]
  if not finished:
    raise SystemExit("No member of {} has finished {} steps yet".format(args.model_dir,
                                                                       args.train_steps))
  files = prediction.record_files(args.tfrecord_dir, "val*")
  records = prediction.read_records(files, members[0].feature_lengths)
  from astronet.ops import error_analysis
  labels = np.isin(records.labels.astype(str), sorted(error_analysis.positive_labels(records)))
  rows = []
  probabilities = prediction.predict_members(finished, records)
  for member, p in zip(finished, probabilities):
    m = metrics.binary_metrics(labels, p)
    rows.append((os.path.basename(member.name), m, member_summary(member.name)))
  ensemble = metrics.binary_metrics(labels, probabilities.mean(axis=0))
  total_wall = sum(s["wall_s"] for _, _, s in rows)
  lines = [
      "# Astronet-Triage reproduction: {}-model ensemble on the real records".format(len(rows)),
      "",
      "Command (original hyper-parameters: AstroCNNModel `local_global`, TESS views 201/61, "
      "Adam lr 1e-5, batch 64, {} steps, reversal augmentation, shuffle buffer 15000; "
      "members differ only in their seed):".format(args.train_steps),
      "",
      "```bash",
      "astronet/ensemble_train.sh {} {} {}".format(args.model_dir, args.train_steps,
                                                  args.tfrecord_dir),
      "python bench/triage_reproduction.py --model_dir={} --tfrecord_dir={}".format(
          args.model_dir, args.tfrecord_dir),
      "```",
      "",
      "Validation shard `val-00000-of-00001`: {} TCEs, {} PC/EB. Accuracy and precision/recall "
      "at 0.5; AUC over 1000 thresholds (as `tf.metrics.auc`).".format(
          len(labels), int(labels.sum())),
      "",
      "| model | seed | accuracy | AUC | average precision | precision | recall | training wall time |",
      "|---|---|---|---|---|---|---|---|",
  ]
  fmt = lambda v: "n/a" if v is None else "{:.4f}".format(v)
  for name, m, s in rows:
    lines.append("| {} | {} | {} | {} | {} | {} | {} | {:.0f} min |".format(
        name, s["seed"], fmt(m["accuracy"]), fmt(m["auc"]), fmt(m["average_precision"]),
        fmt(m["precision"]), fmt(m["recall"]), s["wall_s"] / 60))
  lines.append("| **ensemble (mean probability)** | | **{}** | **{}** | {} | {} | {} | {:.1f} h in all |".format(
      fmt(ensemble["accuracy"]), fmt(ensemble["auc"]), fmt(ensemble["average_precision"]),
      fmt(ensemble["precision"]), fmt(ensemble["recall"]), total_wall / 3600))
  passed = ensemble["auc"] >= TARGET_AUC and ensemble["accuracy"] >= TARGET_ACCURACY
  lines += ["", "Target (issue): AUC >= {} and accuracy >= {} on val; the original reported "
            "about 0.968 / 0.988. Result: {}.".format(
                TARGET_AUC, TARGET_ACCURACY, "**met**" if passed else "**not met**"), ""]
  lines.append("Training wall time is the sum of the runs recorded in each model_dir's "
               "training.json (a run killed before its end is not counted). Members can be "
               "trained in parallel and resumed across sessions; on a 2-core CPU one member "
               "takes about 40-55 min per core.")
  lines.append("")
  if len(finished) < len(members):
    lines.append("Only {} of {} members had finished {} steps when this was written.".format(
        len(finished), len(members), args.train_steps))
  text = "\n".join(lines) + "\n"
  from tf_util import atomic_io
  with atomic_io.atomic_open(args.output) as f:
    f.write(text)
  bench_util.write_results(args.output[:-len(".md")] + ".json", {
      "members": {n: m for n, m, _ in rows}, "ensemble": ensemble, "passed": passed})
  print(text)


if __name__ == "__main__":
  main()
