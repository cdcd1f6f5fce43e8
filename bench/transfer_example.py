"""Worked transfer-learning example: a Kepler Astronet model adapted to TESS Triage records.

Compares, on the same validation split and step budget:
  (a) AstroCNNModel trained from scratch on the TESS records (original
      Triage hyper-parameters: lr 1e-5, batch 64);
  (b) the Kepler model's conv towers transferred and frozen, new pre-logits
      layers and head trained ("head only");
  (c) as (b) for half the steps, then gradual unfreezing of one conv block
      group per stage at a 10x lower learning rate;
  (d) embeddings (concatenated conv-tower outputs of the Kepler towers, and,
      for reference, the pre-logits features of a TESS-trained model) +
      logistic regression;
and writes bench/results/transfer.md and transfer.json.

  python bench/transfer_example.py --base_model=../shared/fixtures/kepler/astrocnn_ckpt \
    --records=../shared/fixtures/triage/tfrecords \
    --reference_model=../shared/fixtures/triage/extra_astrocnn_2000steps/model
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bench_util  # pylint: disable=g-import-not-at-top


def scratch(train_files, val_files, model_dir, steps, seed):
  import keras  # pylint: disable=import-outside-toplevel

  from astronet import models  # pylint: disable=import-outside-toplevel
  from astronet.ops import evaluation  # pylint: disable=import-outside-toplevel
  from astronet.ops import training  # pylint: disable=import-outside-toplevel
  keras.utils.set_random_seed(seed)
  config = models.get_model_config("AstroCNNModel", "local_global", "tess")
  trainer = training.Trainer("AstroCNNModel", config, model_dir)
  trainer.train(train_files, steps, save_every_steps=1000, seed=seed, verbose=False)
  return evaluation.evaluate(trainer.model, config, val_files)


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--base_model", required=True)
  parser.add_argument("--records", required=True, help="Directory of train*/val* shards.")
  parser.add_argument("--reference_model", default=None)
  parser.add_argument("--steps", type=int, default=2000)
  parser.add_argument("--seed", type=int, default=1)
  parser.add_argument("--work_dir", default="transfer_example")
  parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "transfer.json"))
  args = parser.parse_args()
  # pylint: disable=import-outside-toplevel
  import keras

  from astronet.transfer import classify_features
  from astronet.transfer import extract_features
  from astronet.transfer import finetune
  train_files = os.path.join(args.records, "train*")
  val_files = os.path.join(args.records, "val*")
  work = pathlib.Path(args.work_dir)
  results, timings = {}, {}

  def timed(name, fn):
    start = time.time()
    results[name] = fn()
    timings[name] = time.time() - start
    print("{}: {}".format(name, {k: results[name].get(k) for k in ("accuracy", "auc")}), flush=True)

  timed("a_scratch", lambda: scratch(train_files, val_files, str(work / "a_scratch"),
                                     args.steps, args.seed))
  keras.utils.set_random_seed(args.seed)
  timed("b_head_only", lambda: finetune.run(
      args.base_model, train_files, val_files, str(work / "b_head_only"), freeze="towers",
      head_steps=args.steps, learning_rate=1e-4, seed=args.seed,
      verbose=False)["stages"][-1]["eval"])
  keras.utils.set_random_seed(args.seed)
  stage_steps = args.steps // 2 // 5
  timed("c_gradual_unfreezing", lambda: finetune.run(
      args.base_model, train_files, val_files, str(work / "c_gradual"), freeze="towers",
      head_steps=args.steps - 5 * stage_steps, unfreeze_schedule=str(stage_steps),
      learning_rate=1e-4, unfreeze_learning_rate=1e-5, seed=args.seed,
      verbose=False)["stages"][-1]["eval"])

  def embeddings(model, layer):
    train = extract_features.extract(model, train_files, layer=layer)
    val = extract_features.extract(model, val_files, layer=layer)
    result = classify_features.evaluate_classifier("logreg", train, val, ["PC", "EB"])
    return {**result["eval"], "cv_auc": result["cv_auc"], "feature_dim": result["feature_dim"]}

  # The transferred (untrained) Kepler towers of run (b): its step-0 checkpoint.
  towers = work / "d_kepler_towers"
  if not towers.exists():
    import shutil

    from astronet.ops import model_loading
    model, name, config = model_loading.load_model(str(work / "b_head_only"))
    import tensorflow as tf
    fresh = __import__("astronet.models", fromlist=["build_model"]).build_model(name, config)
    tf.train.Checkpoint(model=fresh).restore(str(work / "b_head_only" / "ckpt-0")).expect_partial()
    towers.mkdir(parents=True)
    fresh.save(str(towers / "model.keras"))
    shutil.copy(work / "b_head_only" / "config.json", towers / "config.json")
  timed("d_kepler_tower_embeddings_logreg",
        lambda: embeddings(str(towers / "model.keras"), "pre_logits_concat"))
  if args.reference_model:
    timed("d_reference_tess_model_embeddings_logreg",
          lambda: embeddings(args.reference_model, None))
  summary = {name: {k: r.get(k) for k in ("accuracy", "auc", "average_precision", "precision",
                                          "recall", "num_examples", "cv_auc", "feature_dim")}
             for name, r in results.items()}
  for name in summary:
    summary[name]["wall_s"] = timings[name]
  bench_util.write_results(args.output, {"base_model": args.base_model, "steps": args.steps,
                                         "results": summary})
  print(json.dumps(summary, indent=1))


if __name__ == "__main__":
  main()
