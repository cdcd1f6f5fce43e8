"""Benchmark of the flare transformer and the CNN baseline on CPU (thesis sizes).

  * inference: windows/s of training.predict_probabilities on [N, 100, 3] windows (batch 256);
  * training: windows/s of fit() steps (batch 64, AdamW, class weights);
  * whole light curve: cadences/s of flare_transformer.detection.detect (stride 10)
    on a real TESS sector when --lightcurve is given.

  python bench/bench_flares.py [--num_windows 2048 --train_steps 20 --lightcurve FITS]
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


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--num_windows", type=int, default=2048)
  parser.add_argument("--train_steps", type=int, default=32)
  parser.add_argument("--lightcurve", default=str(
      ROOT / "tests" / "data" / "tess" / "tess2018349182459-s0006-0000000219423316-0126-s_lc.fits"),
                      help="a real TESS sector for the whole-light-curve figure")
  parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "bench_flares.json"))
  args = parser.parse_args()
  # pylint: disable=import-outside-toplevel
  from flare_transformer import config as config_lib
  from flare_transformer import data
  from flare_transformer import detection
  from flare_transformer import model as model_lib
  from flare_transformer import training
  rng = np.random.default_rng(0)
  x = rng.normal(size=(args.num_windows, 100, 3)).astype(np.float32)
  y = (rng.random(args.num_windows) < 0.3).astype(np.int32)
  split = {"x": x, "y": y}
  config = config_lib.load_config()
  results = {}
  for architecture in ("transformer", "cnn"):
    model = model_lib.build_model(dict(config["model"], architecture=architecture))
    training.compile_model(model, config["training"])
    # The project's inference path (predict / evaluate / detection use it).
    training.predict_probabilities(model, x[:256])
    start = time.perf_counter()
    training.predict_probabilities(model, x)
    infer = args.num_windows / (time.perf_counter() - start)
    steps = min(args.train_steps, args.num_windows // 64)
    ds = training.make_dataset(split, 64, config["training"]["class_weights"], 0).take(steps)
    model.fit(ds.take(1), epochs=1, verbose=0)  # trace
    start = time.perf_counter()
    model.fit(ds, epochs=1, verbose=0)
    fit = steps * 64 / (time.perf_counter() - start)
    results[architecture] = {"parameters": int(model.count_params()),
                             "inference_windows_per_s": infer, "train_windows_per_s": fit}
    print("{}: {:,} parameters; inference {:.0f} windows/s; training {:.0f} windows/s".format(
        architecture, model.count_params(), infer, fit))
    if args.lightcurve:
      lc = data.read_light_curve(args.lightcurve)
      detection.detect(model, lc)
      start = time.perf_counter()
      detection.detect(model, lc)
      results[architecture]["light_curve_cadences_per_s"] = len(lc.time) / (
          time.perf_counter() - start)
      print("  whole light curve: {:.0f} cadences/s".format(
          results[architecture]["light_curve_cadences_per_s"]))
  results["ratio_transformer_over_cnn_inference"] = (
      results["transformer"]["inference_windows_per_s"] / results["cnn"]["inference_windows_per_s"])
  bench_util.write_results(args.output, results)


if __name__ == "__main__":
  main()
