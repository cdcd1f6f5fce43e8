r"""Predictions of a trained AstroWaveNet for every light curve of a set of records.

  python astrowavenet/predict.py --model_dir=wavenet/ \
    --tfrecord_files='awn/test-*' --output_dir=predictions/ [--mode=eval]

As the original's batch prediction: per light curve, the predicted
distribution at every step, the per-step losses and the mean loss, un-padded.
--mode=predict (default, the original's PREDICT mode) feeds the inputs
unshifted, so step t is reconstructed from steps <= t (a denoised light
curve); --mode=eval predicts step t from steps < t (one step ahead). Writes
`losses.csv` (example_id, mean_loss, sorted by increasing loss: the most
unusual light curves last) and `predictions.npz` (per example arrays keyed
"{example_id}/{name}": input, weights, mean, seq_losses, loc/scale or logits).
"""

from __future__ import annotations

import os

import numpy as np
from absl import app
from absl import flags

from tf_util import cli

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defines the command-line flags (only when run as a script)."""
  flags.DEFINE_string("model_dir", None, "Model directory of astrowavenet/trainer.py.")
  flags.DEFINE_string("tfrecord_files", None, "File pattern(s) of the records.")
  flags.DEFINE_string("output_dir", None, "Where to write losses.csv and predictions.npz.")
  flags.DEFINE_enum("mode", "predict", ["predict", "eval"], "Unshifted (predict) or "
                    "one-step-ahead (eval) inputs.")
  flags.DEFINE_integer("max_length", None, "Steps used of each light curve (default: all).",
                       lower_bound=1)
  flags.DEFINE_integer("batch_size", 8, "Light curves per batch.", lower_bound=1)


def predict_records(model, hparams, file_pattern: str, mode: str = "predict",
                    max_length: int | None = None, batch_size: int = 8) -> list[dict]:
  """One dict of un-padded arrays (and example_id, mean_loss) per light curve."""
  # pylint: disable=import-outside-toplevel
  from astrowavenet import astrowavenet_model as awn
  from astrowavenet import prediction
  from astrowavenet.data import kepler_light_curves
  results = []
  for batch in kepler_light_curves.build_dataset(file_pattern, batch_size, training=False,
                                                 max_length=max_length or 0):
    features = {k: batch[k] for k in ("autoregressive_input", "conditioning_stack")}
    if mode == "eval":
      features = awn.shift_inputs(features, hparams)
    params = awn.distribution_params(model(features, training=False)["dist_params"], hparams)
    losses = awn.losses(params, batch["autoregressive_input"], hparams, batch["weights"])
    mean = prediction.predicted_mean(params, hparams)
    weights = batch["weights"].numpy()
    for i, example_id in enumerate(batch["example_id"].numpy()):
      # Un-pad: drop trailing zero-weight steps.
      valid = np.nonzero(weights[i].reshape(len(weights[i]), -1).sum(axis=1) > 0)[0]
      length = valid[-1] + 1 if valid.size else 0
      item = {"example_id": int(example_id),
              "mean_loss": float(losses["per_example_loss"][i]),
              "input": batch["autoregressive_input"].numpy()[i, :length],
              "weights": weights[i, :length], "mean": mean[i, :length],
              "seq_losses": losses["seq_losses"].numpy()[i, :length]}
      item.update({k: np.asarray(v)[i, :length] for k, v in params.items()})
      results.append(item)
  return results


def write_outputs(results: list[dict], output_dir: str) -> None:
  """losses.csv (sorted by mean loss) and predictions.npz, atomically."""
  from tf_util import atomic_io  # pylint: disable=import-outside-toplevel
  with atomic_io.atomic_open(os.path.join(output_dir, "losses.csv")) as f:
    f.write("example_id,mean_loss\n")
    for r in sorted(results, key=lambda r: r["mean_loss"]):
      f.write("{},{}\n".format(r["example_id"], r["mean_loss"]))
  arrays = {"{}/{}".format(r["example_id"], k): v for r in results for k, v in r.items()
            if isinstance(v, np.ndarray)}
  with atomic_io.atomic_path(os.path.join(output_dir, "predictions.npz")) as tmp:
    np.savez(tmp, **arrays)


def main(argv):
  del argv
  if not FLAGS.model_dir or not FLAGS.tfrecord_files or not FLAGS.output_dir:
    raise app.UsageError("--model_dir, --tfrecord_files and --output_dir are required")
  # pylint: disable=import-outside-toplevel
  from astrowavenet import wavenet_training
  from astrowavenet.data import kepler_light_curves
  from tf_util import atomic_io
  atomic_io.check_writable(FLAGS.output_dir)
  model, config = wavenet_training.load_model(FLAGS.model_dir)
  kepler_light_curves.validate_records(FLAGS.tfrecord_files)
  results = predict_records(model, config["hparams"], FLAGS.tfrecord_files, FLAGS.mode,
                            FLAGS.max_length, FLAGS.batch_size)
  write_outputs(results, FLAGS.output_dir)
  print("Predicted {} light curves; losses in {}".format(
      len(results), os.path.join(FLAGS.output_dir, "losses.csv")))
  return 0


if __name__ == "__main__":
  cli.run(main, define_flags, tensorflow=True)
