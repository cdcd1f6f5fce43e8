"""Benchmark of AstroWaveNet: training windows/s and cadences/s, generation steps/s.

Base config (4 blocks x dilations 1-16, normal output) on the bundled real
Kepler-90 light curve (Q3-Q5 on a uniform cadence grid), windows of
--max_length cadences, batch --batch_size.

  python bench/bench_astrowavenet.py
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


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--batch_size", type=int, default=16)
  parser.add_argument("--max_length", type=int, default=1024)
  parser.add_argument("--train_steps", type=int, default=30)
  parser.add_argument("--generate_steps", type=int, default=200)
  parser.add_argument("--output", default=str(ROOT / "bench" / "results" /
                                              "bench_astrowavenet.json"))
  args = parser.parse_args()
  # pylint: disable=import-outside-toplevel
  from astronet.util import config_util
  from astrowavenet import configurations
  from astrowavenet import prediction
  from astrowavenet import wavenet_training as trainer_lib
  from astrowavenet.data import prepare_inputs
  config = config_util.apply_overrides(configurations.base(),
                                       {"hparams": {"batch_size": args.batch_size}})
  with tempfile.TemporaryDirectory() as tmp:
    records = str(pathlib.Path(tmp) / "kepler90.tfrecord")
    prepare_inputs.prepare([11442793], str(ROOT / "tests" / "data" / "kepler" / "fits"), records,
                           normalize_stddev=True)
    trainer = trainer_lib.WaveNetTrainer(config, str(pathlib.Path(tmp) / "model"),
                                         max_length=args.max_length)
    trainer.train(records, 3, save_every_steps=10**9, seed=0, verbose=False)  # warm-up
    start = time.perf_counter()
    trainer.train(records, 3 + args.train_steps, save_every_steps=10**9, seed=1, verbose=False)
    train_s = time.perf_counter() - start
    hparams = config["hparams"]
    conditioning = np.ones((args.batch_size, args.generate_steps, 1), np.float32)
    prediction.generate(trainer.model, hparams, conditioning[:, :20], seed=0)  # warm-up
    start = time.perf_counter()
    prediction.generate(trainer.model, hparams, conditioning, seed=0)
    generate_s = time.perf_counter() - start
  windows = args.train_steps * args.batch_size
  results = {"batch_size": args.batch_size, "max_length": args.max_length,
             "train_windows_per_s": windows / train_s,
             "train_cadences_per_s": windows * args.max_length / train_s,
             "generate_steps_per_s": args.generate_steps / generate_s,
             "generate_samples_per_s": args.generate_steps * args.batch_size / generate_s}
  print("training: {:.1f} windows/s of {} cadences ({:.0f} cadences/s)".format(
      results["train_windows_per_s"], args.max_length, results["train_cadences_per_s"]))
  print("generation: {:.1f} steps/s for a batch of {} ({:.0f} samples/s)".format(
      results["generate_steps_per_s"], args.batch_size, results["generate_samples_per_s"]))
  bench_util.write_results(args.output, results)


if __name__ == "__main__":
  main()
