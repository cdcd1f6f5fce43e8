r"""Embeddings of TCEs from a pretrained model's pre-logits layer (feature extraction).

  python astronet/transfer/extract_features.py --model=model_dir_or_ckpt_or.keras \
    --tfrecord_files='tfrecords/train*' --output=features_train.npz

Writes, per record: `features` float32 [n, d] (the input of the model's
logits layer, or the output of --layer), `ids` (tic_id / kepid), `sub_ids` (sector / planet number),
`labels` (Disposition / av_training_set strings), `files`, `record_index`.
`.parquet` output (one column per feature dimension) needs pyarrow.
"""

from __future__ import annotations

import numpy as np
from absl import app
from absl import flags

from tf_util import cli

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defines the command-line flags (only when run as a script)."""
  flags.DEFINE_string("model", None, "TF1 checkpoint, model_dir or .keras file.")
  flags.DEFINE_string("tfrecord_files", None, "File patterns of the records.")
  flags.DEFINE_string("output", None, "Output .npz (or .parquet) file.")
  flags.DEFINE_string("layer", None, "Layer whose output is the embedding (default: the "
                      "input of `logits`, i.e. the last pre-logits layer); e.g. "
                      "pre_logits_concat for the concatenated conv-tower outputs.")
  flags.DEFINE_integer("batch_size", 256, "Records per batch.", lower_bound=1)


def feature_model(model, layer: str | None = None):
  """Keras model from the inputs to `layer`'s output (default: the input of `logits`)."""
  import keras  # pylint: disable=import-outside-toplevel
  try:
    output = model.get_layer(layer).output if layer else model.get_layer("logits").input
  except ValueError:
    raise ValueError("The model has no layer {!r}; layers: {}".format(
        layer, [l.name for l in model.layers])) from None
  return keras.Model(model.inputs, output, name="features")


def extract(model_path: str, file_pattern: str, batch_size: int = 256,
            layer: str | None = None) -> dict:
  """{"features", "ids", "sub_ids", "labels", "files", "record_index"} of every record."""
  # pylint: disable=import-outside-toplevel
  from astronet.ops import dataset_ops
  from astronet.ops import prediction
  member = prediction.load_member(model_path)
  if member.outputs_probability:
    raise ValueError("{} is an exported ensemble; extract features from one member".format(
        model_path))
  records = prediction.read_records(dataset_ops.expand_file_pattern(file_pattern),
                                    member.feature_lengths)
  extractor = prediction.Member(model_path, feature_model(member.model, layer),
                                member.feature_lengths)
  features = extractor.outputs(records.views, batch_size)
  return {"features": features, "ids": records.ids, "sub_ids": records.sub_ids,
          "labels": records.labels.astype(str),
          "files": np.array(records.filenames)[records.file_index],
          "record_index": records.record_index}


def save(path: str, table: dict) -> None:
  """Writes the table atomically as .npz or .parquet."""
  from tf_util import atomic_io  # pylint: disable=import-outside-toplevel
  with atomic_io.atomic_path(path) as tmp:
    if path.endswith(".parquet"):
      import pandas as pd  # pylint: disable=import-outside-toplevel
      frame = pd.DataFrame(table["features"],
                           columns=["f{}".format(i) for i in range(table["features"].shape[1])])
      for key in ("ids", "sub_ids", "labels", "files", "record_index"):
        frame.insert(0 if key == "ids" else frame.shape[1], key, table[key])
      frame.to_parquet(tmp, index=False)
    elif path.endswith(".npz"):
      np.savez(tmp, **table)
    else:
      raise ValueError("--output must end in .npz or .parquet: {}".format(path))


def load(path: str) -> dict:
  """Inverse of `save`."""
  if path.endswith(".parquet"):
    import pandas as pd  # pylint: disable=import-outside-toplevel
    frame = pd.read_parquet(path)
    columns = [c for c in frame.columns if c.startswith("f") and c[1:].isdigit()]
    table = {key: frame[key].to_numpy() for key in ("ids", "sub_ids", "labels", "files",
                                                      "record_index")}
    table["features"] = frame[columns].to_numpy(np.float32)
    return table
  with np.load(path) as data:
    return {key: data[key] for key in data.files}


def main(argv):
  del argv
  if not FLAGS.model or not FLAGS.tfrecord_files or not FLAGS.output:
    raise app.UsageError("--model, --tfrecord_files and --output are required")
  from tf_util import errors  # pylint: disable=import-outside-toplevel
  try:
    table = extract(FLAGS.model, FLAGS.tfrecord_files, FLAGS.batch_size, FLAGS.layer)
    save(FLAGS.output, table)
  except (errors.AstronetError, ValueError, ImportError) as e:
    cli.fail(str(e))
  print("{}: {} records x {} features".format(FLAGS.output, *table["features"].shape))
  return 0


if __name__ == "__main__":
  cli.run(main, define_flags, tensorflow=True)
