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

from absl import app
from absl import flags

from astronet.util import script_flags
from tf_util import cli
from tf_util import errors

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defines the command-line flags (only when run as a script)."""
  flags.DEFINE_enum("dataset", "kepler_light_curves", ["kepler_light_curves"],
                    "Dataset kind (records of astrowavenet/data/prepare_inputs.py).")
  flags.DEFINE_string("model_dir", None, "Base output directory.")
  flags.DEFINE_string("train_files", None, "File pattern(s) of the training records.")
  flags.DEFINE_string("eval_files", None, "File pattern(s) of the evaluation records.")
  flags.DEFINE_string("config_name", "base", "base (normal output) or categorical.")
  flags.DEFINE_string("config_overrides", None, "JSON merged into the config.")
  script_flags.define_step_flags(10000)
  flags.DEFINE_integer("max_length", 1024, "Steps of each light curve used (window).",
                       lower_bound=1)
  flags.DEFINE_string("warm_start_from", None, "Checkpoint of the original TF1 AstroWaveNet.")
  script_flags.define_device_flags()


def main(argv):
  del argv
  if not FLAGS.train_files or not FLAGS.model_dir:
    raise app.UsageError("--train_files and --model_dir are required")
  from tf_util import distribute  # pylint: disable=import-outside-toplevel
  distribute.set_up_early(FLAGS.distribution, FLAGS.intra_op_threads,
                          FLAGS.inter_op_threads)
  # pylint: disable=import-outside-toplevel
  import keras

  from astronet.util import config_util
  from astrowavenet import configurations
  from astrowavenet import wavenet_training
  from astrowavenet.data import kepler_light_curves
  if FLAGS.seed is not None:
    keras.utils.set_random_seed(FLAGS.seed)
  # Config and every input record are checked before model_dir is written.
  try:
    base = configurations.get_config(FLAGS.config_name)
  except ValueError as e:
    raise errors.ConfigError(str(e)) from None
  config = config_util.apply_overrides(base, FLAGS.config_overrides)
  configurations.validate_config(config)
  for pattern in filter(None, (FLAGS.train_files, FLAGS.eval_files)):
    if not kepler_light_curves.validate_records(pattern):
      raise errors.RecordFormatError("{} holds no light curves".format(pattern))
  with distribute.model_dir_lock(FLAGS.model_dir, FLAGS.distribution):
    trainer = wavenet_training.WaveNetTrainer(
        config, FLAGS.model_dir, max_length=FLAGS.max_length, distribution=FLAGS.distribution,
        mixed_precision=FLAGS.mixed_precision, jit_compile=FLAGS.jit_compile)
    if FLAGS.warm_start_from:
      trainer.warm_start(FLAGS.warm_start_from)
    result = trainer.train(FLAGS.train_files, FLAGS.train_steps, FLAGS.eval_files,
                           FLAGS.eval_every_steps, FLAGS.save_every_steps, seed=FLAGS.seed)
  if result:
    print("eval loss={:.5f} ({} examples)".format(result["loss"], result["num_examples"]))
  return 0


if __name__ == "__main__":
  cli.run(main, define_flags, tensorflow=True)
