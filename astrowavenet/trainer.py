r"""Trains AstroWaveNet on light curves (the original's trainer.py flags, Keras 3).

  python astrowavenet/trainer.py --dataset=kepler_light_curves \
    --train_files='astrowavenet/train-*' --eval_files='astrowavenet/val-*' \
    --model_dir=wavenet/ --config_name=base --train_steps=10000

Inputs are records of astrowavenet/data/prepare_inputs.py. The model_dir
holds config.json ({"model": "AstroWaveNet", "config", "dims"}), checkpoints
(resumed after an interruption), TensorBoard summaries and model.keras.
--warm_start_from takes a checkpoint of the ORIGINAL TF1 AstroWaveNet.
"""

from __future__ import annotations

from collections.abc import Mapping

from absl import app
from absl import flags
from absl import logging

from astronet.util import script_flags

from astronet.ops import training
from astrowavenet import astrowavenet_model as awn

FLAGS = flags.FLAGS
MODEL_NAME = "AstroWaveNet"


class WaveNetTrainer(training.Trainer):
  """training.Trainer with the AstroWaveNet model, inputs and likelihood loss."""

  def __init__(self, config: Mapping, model_dir: str, autoregressive_dim: int = 1,
               conditioning_dim: int = 1, max_length: int = 1024, **kwargs):
    self.dims = (int(autoregressive_dim), int(conditioning_dim))
    self.max_length = max_length
    config = dict(config, dims=list(self.dims))
    super().__init__(MODEL_NAME, config, model_dir, **kwargs)

  def build_model(self):
    return awn.build_model(self.config["hparams"], *self.dims)

  def batch_loss(self, batch, training: bool = True):
    hparams = self.config["hparams"]
    features = {k: batch[k] for k in ("autoregressive_input", "conditioning_stack")}
    outputs = self.model(awn.shift_inputs(features, hparams), training=training)
    params = awn.distribution_params(outputs["dist_params"], hparams)
    return awn.losses(params, batch["autoregressive_input"], hparams,
                      batch.get("weights"))["total_loss"]

  def train_dataset(self, train_files, shuffle_buffer_size, seed):
    from astrowavenet.data import kepler_light_curves  # pylint: disable=import-outside-toplevel
    return kepler_light_curves.build_dataset(
        train_files, int(self.config["hparams"]["batch_size"]), training=True,
        max_length=self.max_length, shuffle_values_buffer=min(shuffle_buffer_size, 1000),
        seed=seed)

  def eval_metrics(self, eval_files):
    return evaluate(self.model, self.config, eval_files, self.max_length)


def evaluate(model, config: Mapping, file_pattern: str, max_length: int = 1024) -> dict:
  """{"loss": mean per-example loss (negative log-likelihood per step), "num_examples"}."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  from astrowavenet.data import kepler_light_curves  # pylint: disable=import-outside-toplevel
  hparams = config["hparams"]
  per_example = []
  for batch in kepler_light_curves.build_dataset(
      file_pattern, int(hparams["batch_size"]), training=False, max_length=max_length):
    features = {k: batch[k] for k in ("autoregressive_input", "conditioning_stack")}
    outputs = model(awn.shift_inputs(features, hparams), training=False)
    params = awn.distribution_params(outputs["dist_params"], hparams)
    result = awn.losses(params, batch["autoregressive_input"], hparams, batch["weights"])
    weight = batch["weights"].numpy().reshape(len(features["autoregressive_input"]), -1)
    per_example.extend(result["per_example_loss"].numpy()[weight.sum(axis=1) > 0])
  return {"loss": float(np.mean(per_example)) if per_example else float("nan"),
          "num_examples": len(per_example)}


def load_model(model_dir: str):
  """(model, config) of a trainer model_dir (latest checkpoint)."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from astronet.util import config_util  # pylint: disable=import-outside-toplevel
  from tf_util import errors  # pylint: disable=import-outside-toplevel
  saved = config_util.read_config(model_dir)
  if saved is None or saved.get("model") != MODEL_NAME:
    raise errors.CheckpointError("{} holds no AstroWaveNet (config.json)".format(model_dir))
  config = saved["config"]
  model = awn.build_model(config["hparams"], *config["dims"])
  latest = tf.train.latest_checkpoint(model_dir)
  if latest is None:
    raise errors.CheckpointError("No checkpoint in {}".format(model_dir))
  tf.train.Checkpoint(model=model).restore(latest).expect_partial()
  return model, config


def define_flags() -> None:
  """Defines the command-line flags (only when run as a script)."""
  flags.DEFINE_enum("dataset", "kepler_light_curves", ["kepler_light_curves"],
                    "Dataset kind (records of astrowavenet/data/prepare_inputs.py).")
  flags.DEFINE_string("model_dir", None, "Base output directory.")
  flags.DEFINE_string("train_files", None, "File pattern(s) of the training records.")
  flags.DEFINE_string("eval_files", None, "File pattern(s) of the evaluation records.")
  flags.DEFINE_string("config_name", "base", "base (normal output) or categorical.")
  flags.DEFINE_string("config_overrides", None, "JSON merged into the config.")
  flags.DEFINE_integer("train_steps", 10000, "Total number of training steps.")
  flags.DEFINE_integer("max_length", 1024, "Steps of each light curve used (window).")
  flags.DEFINE_integer("eval_every_steps", 1000, "Evaluate every this many steps.")
  flags.DEFINE_integer("save_every_steps", 1000, "Checkpoint every this many steps.")
  flags.DEFINE_integer("seed", None, "Seed of weights and shuffling.")
  flags.DEFINE_string("warm_start_from", None, "Checkpoint of the original TF1 AstroWaveNet.")
  script_flags.define_device_flags()


def main(argv):
  del argv
  if not FLAGS.train_files or not FLAGS.model_dir:
    raise app.UsageError("--train_files and --model_dir are required")
  from tf_util import distribute  # pylint: disable=import-outside-toplevel
  distribute.set_up_early(FLAGS.distribution)
  # pylint: disable=import-outside-toplevel
  import keras
  from astronet.util import config_util
  from astrowavenet import configurations
  from tf_util import errors
  if FLAGS.seed is not None:
    keras.utils.set_random_seed(FLAGS.seed)
  try:
    config = config_util.apply_overrides(configurations.get_config(FLAGS.config_name),
                                         FLAGS.config_overrides)
    trainer = WaveNetTrainer(config, FLAGS.model_dir, max_length=FLAGS.max_length,
                             distribution=FLAGS.distribution,
                             mixed_precision=FLAGS.mixed_precision,
                               jit_compile=FLAGS.jit_compile)
    if FLAGS.warm_start_from:
      trainer.warm_start(FLAGS.warm_start_from)
    result = trainer.train(FLAGS.train_files, FLAGS.train_steps, FLAGS.eval_files,
                           FLAGS.eval_every_steps, FLAGS.save_every_steps, seed=FLAGS.seed)
  except (errors.AstronetError, ValueError) as e:
    logging.error("%s", e)
    return 2
  if result:
    print("eval loss={:.5f} ({} examples)".format(result["loss"], result["num_examples"]))
  return 0


if __name__ == "__main__":
  define_flags()
  app.run(main)
