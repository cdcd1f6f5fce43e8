r"""Trains the flare transformer (or the CNN baseline) from a YAML config.

  python -m flare_transformer.train --config=flare_transformer/config.yaml
  python -m flare_transformer.train --config=... --resume=results/20261123-071500

See flare_transformer.training for the optimiser, loss and early stopping.
Writes results/<timestamp>/ as the thesis lists:
  checkpoints/best_model.keras                best validation F1
  checkpoints/checkpoint_epoch_<n>.keras      model + optimizer state, the last 3 kept,
                                              with checkpoint_epoch_<n>.json (epoch,
                                              val metrics, early-stopping state)
  plots/training_history.png                  loss, accuracy, precision/recall, F1
  attention_maps/sample_<i>_lightcurve.png, sample_<i>_layer_<j>_attention.png,
                 sample_<i>_attention_rollout.png (transformer)
  config.yaml (the configuration used), config.json (summary and final metrics)
--resume continues a run from its last epoch checkpoint. The YAML is checked
(keys, types, ranges, that the data folders exist) before anything is written.
"""

from __future__ import annotations

import os
import time

from absl import flags

from flare_transformer import config as config_lib
from tf_util import cli


def define_flags() -> None:
  flags.DEFINE_string("config", config_lib.DEFAULT_PATH, "YAML configuration.")
  flags.DEFINE_string("resume", None, "A run directory to continue from its last checkpoint.")
  flags.DEFINE_string("run_dir", None, "Run directory (default results_dir/<timestamp>).")
  flags.DEFINE_enum("distribution", None, ["none", "mirrored", "one_device", "multi_worker"],
                    "tf.distribute strategy; multi_worker: the workers of TF_CONFIG, each "
                    "running this with the same --run_dir (worker 0 writes it).")
  flags.DEFINE_boolean("mixed_precision", False, "float16 compute, float32 weights (GPUs).")
  flags.DEFINE_boolean("jit_compile", False, "XLA-compiled train step.")


def main(argv):
  del argv
  f = flags.FLAGS
  config = config_lib.load_config(f.config)
  if f.resume and not os.path.isdir(f.resume):
    raise config_lib.ConfigError("--resume {} is not a run directory".format(f.resume))
  folders = config["data"]["fits_dir"]
  for folder in [folders] if isinstance(folders, str) else folders:
    if not os.path.isdir(folder):
      raise config_lib.ConfigError("{}: data.fits_dir {} is not a directory".format(
          f.config, folder))
  # pylint: disable=import-outside-toplevel
  from flare_transformer import training
  from tf_util import distribute
  # Chosen here (not inside train) so that it is locked: two runs started in
  # the same second would otherwise share a timestamped folder.
  run_dir = f.resume or f.run_dir or os.path.join(config["output"]["results_dir"],
                                                  time.strftime("%Y%m%d-%H%M%S"))
  with distribute.model_dir_lock(run_dir, f.distribution):
    _, history, run_dir = training.train(config, run_dir, resume=bool(f.resume),
                                         distribution=f.distribution,
                                         mixed_precision=f.mixed_precision,
                                         jit_compile=f.jit_compile)
  print("run {}: {} epochs, best val F1 {:.4f}".format(
      run_dir, len(history), max([h["val_f1"] for h in history] or [float("nan")])))


if __name__ == "__main__":
  cli.run(main, define_flags, tensorflow=True)
