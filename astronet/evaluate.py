r"""Evaluates a trained Astronet model on a set of records.

  python astronet/evaluate.py --model=AstroCNNModel --config_name=local_global \
    --eval_files='tfrecords/val*' --model_dir=model/

Prints accuracy, auc, precision, recall, loss and average precision, and
writes them to model_dir/metrics_{eval_name}.json.
"""

from __future__ import annotations

import os

from absl import app
from absl import flags
from absl import logging

from astronet.ops import training
from tf_util import atomic_io
from tf_util import errors

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defines the command-line flags (only when run as a script)."""
  flags.DEFINE_string("model", None, "Name of the model class (checked against model_dir).")
  flags.DEFINE_string("config_name", None, "Config name (unused: model_dir has the config).")
  flags.DEFINE_string("eval_files", None, "File patterns of the evaluation records.")
  flags.DEFINE_string("model_dir", None, "Directory with the trained model.")
  flags.DEFINE_string("eval_name", "val", "Name of the evaluation set.")


def main(argv):
  del argv
  if not FLAGS.eval_files or not FLAGS.model_dir:
    raise app.UsageError("--eval_files and --model_dir are required")
  try:
    model, _, config = training.load_model(FLAGS.model_dir, FLAGS.model)
    result = training.evaluate(model, config, FLAGS.eval_files)
  except (errors.AstronetError, ValueError) as e:
    logging.error("%s", e)
    return 2
  for name in ("accuracy", "auc", "precision", "recall", "loss", "average_precision",
               "pr_auc", "num_examples"):
    print("{}: {}".format(name, result[name]))
  path = os.path.join(FLAGS.model_dir, "metrics_{}.json".format(FLAGS.eval_name))
  atomic_io.write_json(path, result)
  return 0


if __name__ == "__main__":
  define_flags()
  app.run(main)
