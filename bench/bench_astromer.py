"""Benchmark of ASTROMER (macho architecture: 2 layers, d_model 256, 4 heads, maxlen 200) on CPU.

  * encode: light curves/s of SingleBandEncoder.encode (windowing included) on
    the bundled-size real MACHO curves of the fixtures, or synthetic curves of
    --length observations when none are given;
  * pretraining: steps/s and windows/s of fit()'s train step at batch 256.

The original library needs TensorFlow < 2.16 (Keras 2) and cannot be installed
beside this package: the ratio printed is to its figure on this machine kind
(issue #21: 9.2 curves/s on the 51 real MACHO curves of the fixtures, batch 32).

  python bench/bench_astromer.py [--num_curves 512 --length 400]
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # pylint: disable=g-import-not-at-top

from bench import bench_util  # pylint: disable=g-import-not-at-top


def synthetic_curves(num: int, length: int, seed: int = 0) -> list[np.ndarray]:
  rng = np.random.default_rng(seed)
  curves = []
  for _ in range(num):
    time_days = 49000 + np.sort(rng.uniform(0, 2000, length))
    mag = 17 + 0.3 * np.sin(2 * np.pi * time_days / rng.uniform(0.3, 30)) + rng.normal(0, .05, length)
    curves.append(np.column_stack([time_days, mag, np.full(length, 0.05)]))
  return curves


MACHO_CSV = ROOT.parent / "shared" / "fixtures" / "astromer" / "data" / "macho_lsst_epo" / "c2_f1.csv"
# astromer 0.1.8 (the original library) on this machine kind: 51 real MACHO curves,
# batch 32 (issue #21's figure; it cannot be installed beside TF 2.16+).
ORIGINAL_ENCODE_CURVES_PER_S = 9.2


def macho_curves(path) -> list[np.ndarray]:
  """The 51 real MACHO RR Lyrae c curves (R band): rows with mag > -99 and err > 0,
  stable-sorted by MJD, one (time, mag, err) array per (field, tile, seqn)."""
  import pandas as pd  # pylint: disable=import-outside-toplevel
  table = pd.read_csv(path)
  curves = []
  for _, rows in table.groupby(["fieldid", "tileid", "seqn"]):
    rows = rows[(rows.rmag > -99) & (rows.rerr > 0)].sort_values("dateobs", kind="stable")
    curves.append(rows[["dateobs", "rmag", "rerr"]].to_numpy(np.float64))
  return curves


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--num_curves", type=int, default=512)
  parser.add_argument("--length", type=int, default=200)
  parser.add_argument("--batch_size", type=int, default=256)
  parser.add_argument("--train_steps", type=int, default=10)
  parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "bench_astromer.json"))
  args = parser.parse_args()
  # pylint: disable=import-outside-toplevel
  import tensorflow as tf

  from astromer import models
  from astromer import preprocessing
  model = models.SingleBandEncoder.from_pretraining("macho")
  curves = synthetic_curves(args.num_curves, args.length)
  model.encode(curves[:args.batch_size], batch_size=args.batch_size)  # warm-up / trace
  start = time.perf_counter()
  model.encode(curves, batch_size=args.batch_size)
  encode_s = time.perf_counter() - start
  real = {}
  if MACHO_CSV.exists():
    macho = macho_curves(MACHO_CSV)
    model.encode(macho, batch_size=32)  # warm-up / trace
    start = time.perf_counter()
    model.encode(macho, batch_size=32)
    seconds = time.perf_counter() - start
    real = {"encode_real_macho_curves": len(macho),
            "encode_real_macho_curves_per_s": len(macho) / seconds,
            "encode_vs_original": len(macho) / seconds / ORIGINAL_ENCODE_CURVES_PER_S}
  data = preprocessing.load_numpy(curves, batch_size=args.batch_size, max_obs=model.maxlen,
                                  msk_frac=0.5, rnd_frac=0.2, same_frac=0.2, seed=0)
  batch = next(iter(data))
  optimizer = tf.keras.optimizers.Adam(1e-3, beta_1=0.9, beta_2=0.98, epsilon=1e-9)
  variables = model.model.trainable_variables

  @tf.function
  def train_step(batch):
    with tf.GradientTape() as tape:
      loss = models.rmse(model.model(models._model_inputs(batch))["reconstruction"], batch)  # pylint: disable=protected-access
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss

  train_step(batch)
  start = time.perf_counter()
  for _ in range(args.train_steps):
    train_step(batch).numpy()
  train_s = time.perf_counter() - start
  windows = int(batch["length"].shape[0])
  results = {"num_curves": args.num_curves, "length": args.length,
             "encode_curves_per_s": args.num_curves / encode_s,
             "pretrain_steps_per_s": args.train_steps / train_s,
             "pretrain_windows_per_s": args.train_steps * windows / train_s,
             "batch_size": windows, **real}
  print("encode: {:.1f} light curves/s ({} curves of {} observations)".format(
      results["encode_curves_per_s"], args.num_curves, args.length))
  if real:
    print("encode, {} real MACHO curves, batch 32: {:.1f} curves/s ({:.1f}x astromer 0.1.8's "
          "9.2)".format(real["encode_real_macho_curves"], real["encode_real_macho_curves_per_s"],
                        real["encode_vs_original"]))
  print("pretraining: {:.2f} steps/s at batch {} ({:.0f} windows/s)".format(
      results["pretrain_steps_per_s"], windows, results["pretrain_windows_per_s"]))
  bench_util.write_results(args.output, results)


if __name__ == "__main__":
  main()
