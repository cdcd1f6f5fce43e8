r"""Ships a trained flare model with the project under a --pretrained name.

The maintainers' step after training (train on the training stars, select on
the validation star, report the test star):

  python -m flare_transformer.ship_pretrained --name=flare_transformer \
    --run_dir=results/flares_transformer/run \
    --task="TESS 2-min flare detection, 100-cadence windows (thesis transformer)" \
    --train_command="python -m flare_transformer.train --config bench/configs/flares_transformer.yaml"

writes astronet/pretrained_models/NAME/{model.keras, card.json} (the run's best
epoch, float32, no optimizer state; the card holds the config, training run,
val / test window metrics, event recall per real star and reference
predictions) and registers NAME (family flare_transformer) in
astronet/pretrained_models/registry.json (see astronet/pretrained.py).
"""

from __future__ import annotations

import os

from absl import app
from absl import flags

from tf_util import cli


def define_flags() -> None:
  flags.DEFINE_string("name", None, "Registered name (e.g. flare_transformer, flare_cnn).")
  flags.DEFINE_string("run_dir", None, "A finished flare_transformer.train run directory.")
  flags.DEFINE_string("task", None, "What the model does, in a few words.")
  flags.DEFINE_string("train_command", None, "The command that trained it.")
  flags.DEFINE_string("event_catalog", None, "Catalogue for the event recall per real star "
                      "(default: the run config's first).")


def main(argv):
  del argv
  f = flags.FLAGS
  missing = [n for n in ("name", "run_dir", "task", "train_command") if not getattr(f, n)]
  if missing:
    raise app.UsageError("--{} required".format(", --".join(missing)))
  if not os.path.isdir(f.run_dir):
    raise app.UsageError("--run_dir {} is not a directory".format(f.run_dir))
  # pylint: disable=import-outside-toplevel
  from astronet import pretrained
  from flare_transformer import config as config_lib
  from flare_transformer import evaluation
  from flare_transformer import shipping
  run = shipping.read_run(f.run_dir)
  config = config_lib.load_config(overrides=run["config"])
  results = evaluation.evaluate(config, {f.name: f.run_dir}, event_catalog=f.event_catalog)
  folder_name = os.path.join("astronet", "pretrained_models", f.name)
  entry = shipping.ship(f.run_dir, os.path.join(pretrained.PACKAGES_ROOT, folder_name), f.name,
                        f.task, f.train_command,
                        events={str(t): m for t, m in results["events"][f.name].items()})
  pretrained.register(f.name, {"family": "flare_transformer", "task": f.task,
                               "folder": folder_name, **entry})
  print(pretrained.table())
  return 0


if __name__ == "__main__":
  cli.run(main, define_flags, tensorflow=True)
