r"""Converts a checkpoint of the ORIGINAL TF1 Astronet code into a Keras model.

  python astronet/import_checkpoint.py \
    --tf1_checkpoint=original_model_dir/ --output=model.keras
  # Or into a model_dir of train.py, keeping the Adam state, to continue training:
  python astronet/import_checkpoint.py --tf1_checkpoint=original_model_dir/ \
    --output=imported_model_dir/ --restore_optimizer
  python astronet/train.py --model_dir=imported_model_dir/ --train_steps=20000 ...

--tf1_checkpoint is the original model_dir (its latest checkpoint is used) or
a checkpoint prefix (model_dir/model.ckpt-200). The config is read from the
original config.json beside the checkpoint, from --config_json, or inferred
from the variable shapes. Prints the model summary and the variable count.
"""

from __future__ import annotations

import json
import os

from absl import app
from absl import flags
from absl import logging

from tf_util import cli

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defines the command-line flags (only when run as a script)."""
  flags.DEFINE_string("tf1_checkpoint", None, "Original model_dir or checkpoint prefix.")
  flags.DEFINE_string("output", None, "A .keras file, or a directory: a train.py "
                      "model_dir (config.json, checkpoint, model.keras).")
  flags.DEFINE_string("model", None, "Model class (default: inferred from the variables).")
  flags.DEFINE_string("config_json", None, "Original config (JSON string or file); "
                      "default: config.json beside the checkpoint, else inferred.")
  flags.DEFINE_boolean("restore_optimizer", False, "Also import the Adam moments and "
                       "global step (directory --output only).")


def parse_config_json(value: str | None) -> dict | None:
  if not value:
    return None
  if os.path.isfile(value):
    with open(value) as f:
      return json.load(f)
  try:
    return json.loads(value)
  except json.JSONDecodeError as e:
    raise ValueError("--config_json is neither a file nor valid JSON: {}".format(e)) from None


def import_to(tf1_checkpoint: str, output: str, model_name: str | None = None,
              config_json: dict | None = None, restore_optimizer: bool = False) -> dict:
  """Imports `tf1_checkpoint` into `output` (.keras file or model_dir); returns a summary."""
  # pylint: disable=import-outside-toplevel
  from astronet import checkpoint_import
  from astronet.astro_model import configurations
  from astronet.ops import training
  from tf_util import atomic_io
  from tf_util import errors
  model, name, config, checkpoint = checkpoint_import.import_checkpoint(
      tf1_checkpoint, config=config_json, model_name=model_name)
  summary = {"model": name, "checkpoint": checkpoint.prefix,
             "global_step": checkpoint.global_step,
             "num_variables": len(checkpoint.weights),
             "num_parameters": int(model.count_params()),
             "views": configurations.feature_lengths(config)}
  if output.endswith(".keras"):
    if restore_optimizer:
      raise ValueError("--restore_optimizer needs a directory --output (a train.py "
                       "model_dir holds the optimizer state)")
    with atomic_io.atomic_path(output) as tmp:
      model.save(tmp)
    return summary
  if tf_checkpoint_exists(output):
    raise errors.CheckpointError("{} already holds a checkpoint; choose a new --output".format(
        output))
  trainer = training.Trainer(name, config, output)
  if checkpoint.global_step is not None:
    trainer.step.assign(checkpoint.global_step)  # The model's own training step.
  trainer.warm_start(checkpoint.prefix, restore_optimizer)
  trainer.save_keras_model()
  summary["adam_iterations"] = int(trainer.optimizer.iterations.numpy())
  return summary


def tf_checkpoint_exists(directory: str) -> bool:
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  return os.path.isdir(directory) and tf.train.latest_checkpoint(directory) is not None


def main(argv):
  del argv
  if not FLAGS.tf1_checkpoint or not FLAGS.output:
    raise app.UsageError("--tf1_checkpoint and --output are required")
  from tf_util import errors  # pylint: disable=import-outside-toplevel
  try:
    summary = import_to(FLAGS.tf1_checkpoint, FLAGS.output, FLAGS.model,
                        parse_config_json(FLAGS.config_json), FLAGS.restore_optimizer)
  except (errors.AstronetError, ValueError) as e:
    cli.fail(str(e))
  print(json.dumps(summary, indent=1))
  logging.info("Wrote %s", FLAGS.output)
  return 0


if __name__ == "__main__":
  cli.run(main, define_flags, tensorflow=True)
