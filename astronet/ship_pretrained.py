r"""Ships trained Astronet models with the project: weights, model cards, registry entries.

The maintainers' step after training (train on train, select on val, report test):

  python astronet/ship_pretrained.py --name=triage_ensemble --single_name=triage \
    --member_dirs=runs/triage/model_1,...,runs/triage/model_10 \
    --val_files='tfrecords/val*' --test_files='tfrecords/test-*' \
    --task="TESS TCE triage (PC/EB vs rest), 10-member AstroCNN ensemble" \
    --train_command="astronet/ensemble_train.sh runs/triage 14000 tfrecords"

writes astronet/pretrained_models/NAME/model_{i}/{model.keras, card.json} and
NAME/card.json, and registers NAME (every member, averaged; one member: itself)
and, with --single_name, member 1 alone in astronet/pretrained_models/registry.json
(see astronet/pretrained.py).
"""

from __future__ import annotations

import os

from absl import app
from absl import flags

from tf_util import cli

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defines the command-line flags (only when run as a script)."""
  flags.DEFINE_string("name", None, "Registered name of the (averaged) members.")
  flags.DEFINE_string("single_name", None, "Also register member 1 alone under this name.")
  flags.DEFINE_string("folder", None, "Folder under astronet/pretrained_models (default: "
                      "--name).")
  flags.DEFINE_string("member_dirs", None, "Comma-separated train.py model directories.")
  flags.DEFINE_string("val_files", None, "Validation records (reported in the cards).")
  flags.DEFINE_string("test_files", None, "Test records (reported once in the cards).")
  flags.DEFINE_string("task", None, "What the model does, in a few words.")
  flags.DEFINE_string("train_command", None, "The command that trained the members.")


def main(argv):
  del argv
  required = ("name", "member_dirs", "val_files", "test_files", "task", "train_command")
  missing = [name for name in required if not getattr(FLAGS, name)]
  if missing:
    raise app.UsageError("--{} required".format(", --".join(missing)))
  # pylint: disable=import-outside-toplevel
  from astronet import pretrained
  from astronet.ops import model_export
  folder_name = os.path.join("astronet", "pretrained_models", FLAGS.folder or FLAGS.name)
  folder = os.path.join(pretrained.PACKAGES_ROOT, folder_name)
  shipped = model_export.ship(FLAGS.member_dirs.split(","), folder, FLAGS.val_files,
                              FLAGS.test_files, FLAGS.task, FLAGS.train_command)
  # One member is registered as itself, several as their average.
  pretrained.register(FLAGS.name, {"family": "astronet", "task": FLAGS.task,
                                   "folder": folder_name,
                                   **(shipped["ensemble"] if len(shipped["members"]) > 1
                                      else shipped["members"][0])})
  if FLAGS.single_name:
    pretrained.register(FLAGS.single_name, {
        "family": "astronet", "task": FLAGS.task + " (member 1 alone)",
        "folder": folder_name, **shipped["members"][0]})
  print(pretrained.table())
  return 0


if __name__ == "__main__":
  cli.run(main, define_flags, tensorflow=True)
