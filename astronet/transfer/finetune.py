r"""Fine-tunes a pretrained Astronet model on new records: new head, frozen towers, gradual unfreezing.

  # Kepler model (original TF1 checkpoint) -> TESS Triage records, binary head:
  python astronet/transfer/finetune.py --base_model=kepler_model_dir/ \
    --train_files='tfrecords/train*' --eval_files='tfrecords/val*' \
    --model_dir=finetuned/ --head=binary --freeze=towers --head_steps=1000 \
    --unfreeze_schedule=500 --learning_rate=1e-4 --unfreeze_learning_rate=1e-5
  # Three classes from the Disposition labels:
  ... --head=softmax --label_map='{"PC": 0, "EB": 1, "J": 2, "O": 2}'
  # Multi-label (independent sigmoids):
  ... --head=sigmoid --label_map='{"PC": [1, 0], "EB": [1, 1], "J": [0, 0], "O": [0, 0]}'

--base_model: a checkpoint of the ORIGINAL TF1 code (directory or prefix), a
model_dir of this package, or a .keras file. The new model takes the records'
view lengths (mission read off the records). Phase 1 trains what --freeze
leaves trainable (towers: pre-logits layers + head; all: head only; none:
everything) for --head_steps at --learning_rate; then each stage of
--unfreeze_schedule ("N": every frozen group, N steps each, from the top;
or "pre_logits:500,block_1:500,...") unfreezes one more group and trains at
--unfreeze_learning_rate. The model_dir is a normal train.py model_dir
(evaluate.py, batch_predict.py ... read it); a restart resumes in the right
stage. Writes transfer.json (weights copied / re-initialised, stages,
metrics per stage) and transfer_history.png.
"""

from __future__ import annotations

import json
import os

from absl import app
from absl import flags
from absl import logging

from astronet.util import script_flags
from tf_util import cli

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defines the command-line flags (only when run as a script)."""
  flags.DEFINE_string("base_model", None, "Pretrained model: TF1 checkpoint, model_dir or .keras.")
  script_flags.define_pretrained_flag()
  flags.DEFINE_string("train_files", None, "File patterns of the training records.")
  flags.DEFINE_string("eval_files", None, "File patterns of the validation records.")
  flags.DEFINE_string("model_dir", None, "Output model directory.")
  flags.DEFINE_enum("head", "binary", ["binary", "softmax", "sigmoid"], "New output head.")
  flags.DEFINE_string("label_map", None, "JSON {label: id} (binary/softmax) or {label: "
                      "[0/1, ...]} (sigmoid); default: the mission's binary map.")
  flags.DEFINE_enum("freeze", "towers", ["none", "towers", "all"],
                    "What stays frozen in phase 1: the conv towers, all but the head, or nothing.")
  flags.DEFINE_integer("head_steps", 1000, "Steps of phase 1.", lower_bound=0)
  flags.DEFINE_string("unfreeze_schedule", None, "Gradual unfreezing: 'N' or 'group:N,...'.")
  flags.DEFINE_float("learning_rate", None, "Phase-1 learning rate (default: the config's).",
                     lower_bound=1e-12)
  flags.DEFINE_float("unfreeze_learning_rate", None, "Learning rate while unfreezing "
                     "(default: --learning_rate / 10).")
  flags.DEFINE_integer("batch_size", None, "Batch size (default: the config's).", lower_bound=1)
  flags.DEFINE_integer("eval_every_steps", 1000, "Evaluate every this many steps.",
                       lower_bound=1)
  flags.DEFINE_integer("shuffle_buffer_size", 15000, "Size of the shuffle buffer.",
                       lower_bound=1)
  script_flags.define_device_flags()
  flags.DEFINE_integer("seed", None, "Seed of the new weights, shuffling and reversal.",
                       lower_bound=0)


def parse_label_map(value: str | None) -> dict | None:
  """--label_map: a JSON object {label: id} or {label: [0/1 targets]}.

  Raises:
    ConfigError: Not JSON, or not an object of the right values.
  """
  from tf_util import errors  # pylint: disable=import-outside-toplevel
  if not value:
    return None
  try:
    label_map = json.loads(value)
  except json.JSONDecodeError as e:
    raise errors.ConfigError("--label_map is not valid JSON: {}".format(e)) from None
  if not isinstance(label_map, dict) or not label_map or not all(
      isinstance(v, (int, list)) and not isinstance(v, bool) for v in label_map.values()):
    raise errors.ConfigError("--label_map must be a JSON object {{label: id}} or {{label: "
                             "[0/1, ...]}}, got {}".format(value))
  return label_map


def load_base(path: str):
  """(model name, config, {TF1 name: weight}) of a pretrained model."""
  # pylint: disable=import-outside-toplevel
  from astronet import checkpoint_import
  from astronet.ops import model_loading
  from tf_util import errors
  if os.path.isfile(path) and path.endswith(".keras"):
    weights, _ = model_loading.load_weights(path)
    name, config = checkpoint_import.infer_config({k: v.shape for k, v in weights.items()})
    return name, config, weights
  if checkpoint_import.is_tf1_checkpoint(path):
    model, name, config, checkpoint = checkpoint_import.import_checkpoint(path)
    return name, config, checkpoint.weights
  if not os.path.exists(path):
    raise errors.CheckpointError("--base_model {} does not exist".format(path))
  model, name, config = model_loading.load_model(path)
  return name, config, checkpoint_import.weights_by_name(model)


def plan_stages(phase1_trainable: list[str], head_steps: int, schedule: list[tuple[str, int]],
                learning_rate: float, unfreeze_learning_rate: float) -> list[dict]:
  """[{name, end_step, learning_rate, unfreeze}] with cumulative end steps."""
  stages = [{"name": "phase 1 ({})".format("+".join(phase1_trainable)), "end_step": head_steps,
             "learning_rate": learning_rate, "unfreeze": []}]
  for group, steps in schedule:
    stages.append({"name": "unfreeze " + group, "end_step": stages[-1]["end_step"] + steps,
                   "learning_rate": unfreeze_learning_rate, "unfreeze": [group]})
  return stages


def run(base_model: str, train_files: str, eval_files: str | None, model_dir: str,
        head: str = "binary", label_map: dict | None = None, freeze: str = "towers",
        head_steps: int = 1000, unfreeze_schedule: str | None = None,
        learning_rate: float | None = None, unfreeze_learning_rate: float | None = None,
        batch_size: int | None = None, eval_every_steps: int = 1000,
        shuffle_buffer_size: int = 15000, seed: int | None = None,
        verbose: bool = True, distribution: str | None = None,
        mixed_precision: bool = False, jit_compile: bool = False) -> dict:
  """Fine-tunes; returns the transfer report (also written to model_dir/transfer.json)."""
  # pylint: disable=import-outside-toplevel
  from astronet.astro_model import configurations
  from astronet.ops import evaluation
  from astronet.ops import training
  from astronet.transfer import transfer_model
  from tf_util import atomic_io
  mission = training.infer_mission(train_files)
  model_name, base_config, base_weights = load_base(base_model)
  lengths = dict(zip(("global_view", "local_view"), configurations.VIEW_LENGTHS[mission]))
  label_feature = configurations.base(mission)["inputs"]["label_feature"]
  label_map = label_map or configurations.base(mission)["inputs"]["label_map"]
  learning_rate = learning_rate or float(
      configurations.base(mission)["hparams"]["learning_rate"])
  unfreeze_learning_rate = unfreeze_learning_rate or learning_rate / 10
  overrides = {"learning_rate": learning_rate, "batch_size": batch_size or int(
      configurations.base(mission)["hparams"]["batch_size"])}
  config = transfer_model.transfer_config(base_config, lengths, head, label_map, overrides)
  config["inputs"]["label_feature"] = label_feature
  # Truncated records, NaN views and labels outside --label_map (listed by
  # record), before model_dir is written.
  training.check_training_inputs(config, train_files, eval_files)
  trainer = training.Trainer(model_name, config, model_dir, distribution=distribution,
                             mixed_precision=mixed_precision, jit_compile=jit_compile)
  report_path = os.path.join(model_dir, "transfer.json")
  if trainer.manager.latest_checkpoint is None:
    weights = transfer_model.transfer_weights(trainer.model, base_weights)
    trainer.manager.save(checkpoint_number=0)
    report = {"base_model": base_model, "mission": mission, "head": head,
              "label_map": label_map, "freeze": freeze, "weights": weights, "stages": []}
  else:
    with open(report_path) as f:
      report = json.load(f)
  phase1 = transfer_model.set_frozen(trainer.model, freeze)
  schedule = transfer_model.parse_unfreeze_schedule(unfreeze_schedule, trainer.model)
  stages = plan_stages(phase1, head_steps, schedule, learning_rate, unfreeze_learning_rate)
  done = {s["name"] for s in report["stages"]}
  for stage in stages:
    transfer_model.unfreeze(trainer.model, stage["unfreeze"])
    trainer.refresh_trainable()
    if stage["name"] in done:
      continue
    trainer.optimizer.learning_rate.assign(stage["learning_rate"])
    logging.info("%s: %d trainable weights, lr %g, to step %d", stage["name"],
                 len(trainer.model.trainable_variables), stage["learning_rate"],
                 stage["end_step"])
    trainer.train(train_files, stage["end_step"], None, eval_every_steps,
                  save_every_steps=min(1000, stage["end_step"]),
                  shuffle_buffer_size=shuffle_buffer_size, seed=seed, verbose=verbose)
    trainer.manager.save(checkpoint_number=stage["end_step"])
    result = trainer.evaluate(eval_files) if eval_files else {}
    report["stages"].append({**stage, "trainable_weights": len(trainer.model.trainable_variables),
                             "eval": result})
    atomic_io.write_json(report_path, report)
    if result:
      logging.info("%s: %s", stage["name"], evaluation.format_metrics(result))
  plot_history(report, os.path.join(model_dir, "transfer_history.png"))
  return report


def plot_history(report: dict, output_file: str) -> None:
  """Validation AUC and accuracy at the end of each stage."""
  # pylint: disable=import-outside-toplevel
  import matplotlib.pyplot as plt

  from astronet import plotting
  stages = [s for s in report["stages"] if s.get("eval")]
  if not stages:
    return
  fig, ax = plt.subplots(figsize=(7, 4))
  steps = [s["end_step"] for s in stages]
  for key in ("auc", "accuracy"):
    ax.plot(steps, [s["eval"].get(key) or float("nan") for s in stages], "o-", label=key)
  for s in stages:
    ax.annotate(s["name"], (s["end_step"], s["eval"].get("auc") or 0), fontsize=7,
                textcoords="offset points", xytext=(3, -10), rotation=-20)
  ax.set(xlabel="training step", ylabel="validation metric",
         title="fine-tuning from {}".format(os.path.basename(report["base_model"].rstrip("/"))))
  ax.legend()
  ax.grid(alpha=0.3)
  fig.tight_layout()
  plotting.save_figure(fig, output_file)


def main(argv):
  del argv
  if not FLAGS.train_files or not FLAGS.model_dir:
    raise app.UsageError("--train_files and --model_dir are required")
  base_model, _ = script_flags.model_source(FLAGS, "base_model")
  if "," in base_model:
    raise app.UsageError("--pretrained={} is an ensemble; fine-tune from one model (e.g. "
                         "--pretrained=triage)".format(FLAGS.pretrained))
  from tf_util import distribute  # pylint: disable=import-outside-toplevel
  distribute.set_up_early(FLAGS.distribution, FLAGS.intra_op_threads,
                          FLAGS.inter_op_threads)
  import keras  # pylint: disable=import-outside-toplevel
  if FLAGS.seed is not None:
    keras.utils.set_random_seed(FLAGS.seed)
  label_map = parse_label_map(FLAGS.label_map)
  with distribute.model_dir_lock(FLAGS.model_dir, FLAGS.distribution):
    report = run(base_model, FLAGS.train_files, FLAGS.eval_files, FLAGS.model_dir,
                 FLAGS.head, label_map, FLAGS.freeze, FLAGS.head_steps,
                 FLAGS.unfreeze_schedule, FLAGS.learning_rate, FLAGS.unfreeze_learning_rate,
                 FLAGS.batch_size, FLAGS.eval_every_steps, FLAGS.shuffle_buffer_size,
                 FLAGS.seed, distribution=FLAGS.distribution,
                 mixed_precision=FLAGS.mixed_precision, jit_compile=FLAGS.jit_compile)
  for stage in report["stages"]:
    print("{}: step {}, {}".format(stage["name"], stage["end_step"],
                                   json.dumps({k: v for k, v in stage["eval"].items()
                                               if k in ("accuracy", "auc")})))
  return 0


if __name__ == "__main__":
  cli.run(main, define_flags, tensorflow=True)
