r"""Trains an Astronet model (Kepler or TESS records).

  python astronet/train.py --model=AstroCNNModel --config_name=local_global \
    --train_files='tfrecords/train*' --eval_files='tfrecords/val*' \
    --model_dir=model/ --train_steps=14000

The mission (view lengths, labels, batch size, learning rate) follows from the
records (global_view of 2001 values: Kepler; 201: TESS) unless --mission is
given; --config_overrides='{"hparams": {"batch_size": 32}}' changes any value.
Killed and restarted with the same --model_dir, training continues from the
last checkpoint.

Fine-tuning: --warm_start_from=PATH starts from the weights of a checkpoint of
the ORIGINAL TF1 code (model_dir or prefix), a .keras file or another
model_dir (same architecture); with a TF1 checkpoint, --restore_optimizer also
takes its Adam moments and global step, continuing the original run.
"""

from __future__ import annotations

from absl import app
from absl import flags
from absl import logging

from astronet.util import script_flags

from astronet import models
from astronet.ops import training
from astronet.util import config_util
from tf_util import errors

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defines the command-line flags (only when run as a script)."""
  flags.DEFINE_string("model", "AstroCNNModel", "Name of the model class.")
  flags.DEFINE_string("config_name", "local_global",
                      "Name of the model and training configuration.")
  flags.DEFINE_enum("mission", None, ["kepler", "tess"],
                    "Mission of the records; inferred from them if unset.")
  flags.DEFINE_string("config_overrides", None, "JSON merged into the config.")
  flags.DEFINE_string("train_files", None, "Comma-separated list of file patterns "
                      "matching the TFRecord files of the training set.")
  flags.DEFINE_string("eval_files", None, "File patterns of the validation set.")
  flags.DEFINE_string("model_dir", None, "Directory for model checkpoints and summaries.")
  flags.DEFINE_integer("train_steps", 14000, "Total number of steps to train for.")
  flags.DEFINE_integer("shuffle_buffer_size", 15000, "Size of the shuffle buffer.")
  flags.DEFINE_integer("eval_every_steps", 1000, "Evaluate every this many steps.")
  flags.DEFINE_integer("save_every_steps", 1000, "Checkpoint every this many steps.")
  flags.DEFINE_integer("seed", None, "Seed of weights, shuffling and reversal.")
  flags.DEFINE_string("warm_start_from", None, "Initial weights (fine-tuning): a "
                      "checkpoint of the ORIGINAL TF1 code (directory or prefix), a "
                      ".keras file or a model_dir of this package. Ignored when "
                      "--model_dir already has a checkpoint (training resumes).")
  script_flags.define_device_flags()
  flags.DEFINE_boolean("restore_optimizer", False, "With a TF1 --warm_start_from: also "
                       "restore its Adam moments and global step.")


def build_config(model_name: str, config_name: str, mission: str | None,
                 train_files: str, overrides: str | None) -> dict:
  mission = mission or training.infer_mission(train_files)
  config = models.get_model_config(model_name, config_name, mission)
  return config_util.apply_overrides(config, overrides)


def main(argv):
  del argv
  if not FLAGS.train_files or not FLAGS.model_dir:
    raise app.UsageError("--train_files and --model_dir are required")
  from tf_util import distribute  # pylint: disable=import-outside-toplevel
  distribute.set_up_early(FLAGS.distribution)
  import keras  # pylint: disable=import-outside-toplevel
  if FLAGS.seed is not None:
    keras.utils.set_random_seed(FLAGS.seed)
  try:
    config = build_config(FLAGS.model, FLAGS.config_name, FLAGS.mission,
                          FLAGS.train_files, FLAGS.config_overrides)
    trainer = training.Trainer(FLAGS.model, config, FLAGS.model_dir,
                               distribution=FLAGS.distribution,
                               mixed_precision=FLAGS.mixed_precision,
                               jit_compile=FLAGS.jit_compile)
    if FLAGS.warm_start_from:
      trainer.warm_start(FLAGS.warm_start_from, FLAGS.restore_optimizer)
    elif FLAGS.restore_optimizer:
      raise app.UsageError("--restore_optimizer needs --warm_start_from")
    result = trainer.train(FLAGS.train_files, FLAGS.train_steps, FLAGS.eval_files,
                           FLAGS.eval_every_steps, FLAGS.save_every_steps,
                           FLAGS.shuffle_buffer_size, FLAGS.seed)
  except (errors.AstronetError, ValueError) as e:
    logging.error("%s", e)
    return 2
  if result:
    print(training.format_metrics(result))
  return 0


if __name__ == "__main__":
  define_flags()
  app.run(main)
