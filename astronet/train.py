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

from astronet.util import script_flags
from tf_util import cli

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defines the command-line flags (only when run as a script)."""
  script_flags.define_training_flags()


def main(argv):
  del argv
  if not FLAGS.train_files or not FLAGS.model_dir:
    raise app.UsageError("--train_files and --model_dir are required")
  if FLAGS.restore_optimizer and not FLAGS.warm_start_from:
    raise app.UsageError("--restore_optimizer needs --warm_start_from")
  from tf_util import distribute  # pylint: disable=import-outside-toplevel
  distribute.set_up_early(FLAGS.distribution, FLAGS.intra_op_threads,
                          FLAGS.inter_op_threads)
  # TensorFlow only once the flags are known good (--help stays fast).
  # pylint: disable=import-outside-toplevel
  import keras

  from astronet.ops import evaluation
  from astronet.ops import training
  if FLAGS.seed is not None:
    keras.utils.set_random_seed(FLAGS.seed)
  # Everything is checked before model_dir is created.
  config = training.training_config(FLAGS.model, FLAGS.config_name, FLAGS.mission,
                                    FLAGS.train_files, FLAGS.config_overrides)
  training.check_training_inputs(config, FLAGS.train_files, FLAGS.eval_files)
  with distribute.model_dir_lock(FLAGS.model_dir, FLAGS.distribution):
    trainer = training.Trainer(FLAGS.model, config, FLAGS.model_dir,
                               distribution=FLAGS.distribution,
                               mixed_precision=FLAGS.mixed_precision,
                               jit_compile=FLAGS.jit_compile)
    if FLAGS.warm_start_from:
      trainer.warm_start(FLAGS.warm_start_from, FLAGS.restore_optimizer)
    result = trainer.train(FLAGS.train_files, FLAGS.train_steps, FLAGS.eval_files,
                           FLAGS.eval_every_steps, FLAGS.save_every_steps,
                           FLAGS.shuffle_buffer_size, FLAGS.seed)
  if result:
    print(evaluation.format_metrics(result))
  return 0


if __name__ == "__main__":
  cli.run(main, define_flags, tensorflow=True)
