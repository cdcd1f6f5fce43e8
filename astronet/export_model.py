r"""Exports a model or an averaged ensemble as .keras, TF SavedModel or ONNX, with a model card.

  python astronet/export_model.py --model_dir=model/ --output=astronet.keras
  python astronet/export_model.py --model_dir=${MODEL_DIR} --average \
    --output=ensemble_savedmodel --format=saved_model        # TF Serving
  python astronet/export_model.py --model_dir=model/ --output=astronet.onnx \
    --format=onnx                                            # needs the onnx extra

--model_dir accepts what batch_predict.py accepts (model_dirs of this package
or of the original TF1 code, .keras files, comma-separated lists, --average).
The exported model takes {"global_view", "local_view"} float32 [batch, bins]
and returns the probability of the positive class [batch, 1] (an ensemble:
the mean of its members'). It carries a JSON model card (config, view lengths
and the preprocessing that makes the views, label map, training data and
metrics, package versions): inside the .keras archive and the SavedModel
directory as `model_card.json`, in the ONNX metadata under "model_card".
`read_model_card(path)` reads it back from any of the three.
"""

from __future__ import annotations

from absl import app
from absl import flags

from astronet.util import script_flags
from tf_util import cli

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defines the command-line flags (only when run as a script)."""
  flags.DEFINE_string("model_dir", None, "Model directory / .keras file, or comma-separated "
                      "list; with --average, directories of models.")
  flags.DEFINE_boolean("average", False, "Average the models in the subdirectories.")
  flags.DEFINE_string("output", None, "Output path (.keras file, directory, or .onnx file).")
  flags.DEFINE_enum("format", "keras", ["keras", "saved_model", "onnx"], "Export format.")
  script_flags.define_pretrained_flag()


def main(argv):
  del argv
  if not FLAGS.output:
    raise app.UsageError("--output is required")
  model_paths, average = script_flags.model_source(FLAGS)
  from astronet.ops import model_export  # pylint: disable=import-outside-toplevel
  model_export.check_output(FLAGS.output, FLAGS.format)
  card = model_export.export(model_paths, FLAGS.output, FLAGS.format, average)
  print("Exported {} model(s) ({}) to {}; views {}".format(
      card["ensemble_size"], FLAGS.format, FLAGS.output,
      {k: v["shape"][1] for k, v in card["inputs"].items()}))
  return 0


if __name__ == "__main__":
  cli.run(main, define_flags, tensorflow=True)
