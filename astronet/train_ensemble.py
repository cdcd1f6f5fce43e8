r"""Trains the members of an Astronet ensemble together, as one Keras model.

  python astronet/train_ensemble.py --model=AstroCNNModel --config_name=local_global \
    --train_files='tfrecords/train*' --eval_files='tfrecords/val*' \
    --model_dir=ensemble/ --train_steps=14000 --num_models=10

gives what `astronet/ensemble_train.sh ensemble/ 14000 tfrecords/` gives —
ensemble/model_1 ... model_10, member i trained with seed SEED_BASE + i — in
one process and one train step per batch (see astronet.ops.ensemble_training),
which keeps a GPU busy where a single member leaves it idle. Each member
directory is an ordinary train.py model_dir: batch_predict.py --average,
find_incorrect.py and evaluate.py use them unchanged. Killed and restarted,
training continues from the last checkpoint.
"""

from __future__ import annotations

from absl import app
from absl import flags

from astronet.util import script_flags
from tf_util import cli

FLAGS = flags.FLAGS


def define_flags() -> None:
  """train.py's flags (less --seed and --warm_start_from), plus the ensemble's."""
  script_flags.define_training_flags()
  flags.DEFINE_integer("num_models", 10, "Number of ensemble members.", lower_bound=1,
                       upper_bound=1000)
  flags.DEFINE_integer("seed_base", 0, "Member i (1-based) has seed seed_base + i, "
                       "as ensemble_train.sh's SEED_BASE.", lower_bound=0)


def main(argv):
  del argv
  if not FLAGS.train_files or not FLAGS.model_dir:
    raise app.UsageError("--train_files and --model_dir are required")
  for unsupported in ("seed", "warm_start_from", "distribution", "restore_optimizer"):
    if FLAGS[unsupported].present:
      raise app.UsageError("--{} is not supported by train_ensemble.py (member seeds "
                           "come from --seed_base)".format(unsupported))
  # pylint: disable=import-outside-toplevel
  from tf_util import distribute
  distribute.set_up_early(None, FLAGS.intra_op_threads, FLAGS.inter_op_threads)
  from astronet.ops import ensemble_training
  from astronet.ops import evaluation
  from astronet.ops import training
  from tf_util import atomic_io
  indices = list(range(1, FLAGS.num_models + 1))
  config = training.training_config(FLAGS.model, FLAGS.config_name, FLAGS.mission,
                                    FLAGS.train_files, FLAGS.config_overrides)
  training.check_training_inputs(config, FLAGS.train_files, FLAGS.eval_files)
  with atomic_io.DirectoryLock(FLAGS.model_dir):
    trainer = ensemble_training.EnsembleTrainer(
        FLAGS.model, config, FLAGS.model_dir, [FLAGS.seed_base + i for i in indices],
        indices, mixed_precision=FLAGS.mixed_precision, jit_compile=FLAGS.jit_compile)
    results = trainer.train(FLAGS.train_files, FLAGS.train_steps, FLAGS.eval_files,
                            FLAGS.eval_every_steps, FLAGS.save_every_steps,
                            FLAGS.shuffle_buffer_size)
  for index, result in zip(indices, results):
    if result:
      print("model_{}: {}".format(index, evaluation.format_metrics(result)))
  return 0


if __name__ == "__main__":
  cli.run(main, define_flags, tensorflow=True)
