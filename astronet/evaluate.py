r"""Evaluates a trained Astronet model (or an ensemble) on a set of records.

  python astronet/evaluate.py --model=AstroCNNModel --config_name=local_global \
    --eval_files='tfrecords/val*' --model_dir=model/ [--output=metrics_val.json]

--model_dir is any model form: a model directory of train.py, one of the
ORIGINAL TF1 code, a .keras file (train.py's model.keras, import_checkpoint.py's
output, an exported ensemble), an exported SavedModel directory, or with
--average a directory of ensemble members (their mean probability is scored).

Prints accuracy, auc, precision, recall, loss and average precision ("undefined"
where a metric has no value, e.g. precision with no positive prediction). The
model directory is never written to: --output=PATH writes the metrics as JSON
there (refusing to replace a file that evaluate.py did not write).
"""

from __future__ import annotations

import json
import math
import os

from absl import app
from absl import flags

from astronet.util import script_flags
from tf_util import cli
from tf_util import errors

FLAGS = flags.FLAGS

# Marks the JSON files evaluate.py writes (the only ones it replaces).
WRITTEN_BY = "astronet/evaluate.py"
METRIC_NAMES = ("accuracy", "auc", "precision", "recall", "loss", "average_precision",
                "pr_auc", "num_examples")


def define_flags() -> None:
  """Defines the command-line flags (only when run as a script)."""
  flags.DEFINE_string("model", None, "Name of the model class (checked against model_dir).")
  flags.DEFINE_string("config_name", None, "Config name (unused: model_dir has the config).")
  flags.DEFINE_string("eval_files", None, "File patterns of the evaluation records.")
  flags.DEFINE_string("model_dir", None, "The model: model_dir (train.py or original TF1), "
                      ".keras file, exported SavedModel, or comma-separated list.")
  flags.DEFINE_boolean("average", False, "Score the mean of the models in the "
                       "subdirectories of --model_dir (an ensemble).")
  script_flags.define_pretrained_flag()
  flags.DEFINE_string("eval_name", "val", "Name of the evaluation set (in --output).")
  flags.DEFINE_string("output", None, "Optional JSON file for the metrics.")
  flags.DEFINE_integer("batch_size", 256, "Records per batch (ensembles).", lower_bound=1)


def format_value(value) -> str:
  if value is None or (isinstance(value, float) and math.isnan(value)):
    return "undefined"
  return str(value)


def check_output(path: str) -> None:
  """Refuses an --output that exists and was not written by evaluate.py."""
  if os.path.isdir(path):
    raise errors.OutputError("--output {} is a directory; give a file name".format(path), path)
  if not os.path.exists(path):
    return
  try:
    with open(path) as f:
      ours = json.load(f).get("written_by") == WRITTEN_BY
  except (OSError, ValueError, AttributeError):
    ours = False
  if not ours:
    raise errors.OutputError("--output {} exists and was not written by evaluate.py; "
                             "refusing to overwrite it".format(path), path)


def main(argv):
  del argv
  if not FLAGS.eval_files:
    raise app.UsageError("--eval_files is required")
  model_paths, average = script_flags.model_source(FLAGS)
  if FLAGS.output:
    check_output(FLAGS.output)
  # pylint: disable=import-outside-toplevel
  from astronet.ops import dataset_ops
  from astronet.ops import evaluation
  from astronet.ops import prediction
  from tf_util import atomic_io
  members = prediction.load_members(model_paths, average, FLAGS.model)
  single = members[0]
  if len(members) == 1 and single.config is not None:
    # A model_dir: the evaluation of training (batch means of the loss, as the
    # originals), which streams the records, so they are checked first.
    inputs = single.config["inputs"]
    count = dataset_ops.validate_records(
        dataset_ops.expand_file_pattern(FLAGS.eval_files), single.feature_lengths,
        inputs["label_feature"], inputs["label_map"])
    if not count:
      raise errors.RecordFormatError("{} holds no records".format(FLAGS.eval_files))
    result = evaluation.evaluate(single.model, single.config, FLAGS.eval_files)
  else:
    # Reads the records into memory once and checks them there.
    result = prediction.evaluate_members(members, FLAGS.eval_files, FLAGS.batch_size)
  for name in METRIC_NAMES:
    print("{}: {}".format(name, format_value(result.get(name))))
  if FLAGS.output:
    clean = {k: (None if isinstance(v, float) and math.isnan(v) else v)
             for k, v in result.items()}
    atomic_io.write_json(FLAGS.output, dict(clean, written_by=WRITTEN_BY,
                                            eval_name=FLAGS.eval_name,
                                            eval_files=FLAGS.eval_files,
                                            model=FLAGS.model_dir or FLAGS.pretrained))
  return 0


if __name__ == "__main__":
  cli.run(main, define_flags, tensorflow=True)
