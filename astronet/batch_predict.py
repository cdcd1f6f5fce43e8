r"""Predicts every TCE of a set of TFRecords with one model or an ensemble.

  # One model:
  python astronet/batch_predict.py --model_dir=model/ --tfrecord_dir=tfrecords/ \
    --suffix=yyy
  # Ensemble (MODEL_DIR holds model_1 ... model_10 of ensemble_train.sh),
  # with a figure of each TCE's views and the ensemble exported as ONE model:
  python astronet/batch_predict.py --model_dir=${MODEL_DIR} --average \
    --tfrecord_dir=tfrecords/ --suffix=yyy --plot --save_dir=astronet/plots \
    --export_ensemble=ensemble.keras

Reads `tfrecord_dir/test-0000*` (the original's glob; --tfrecord_pattern
changes it) and writes `prediction_{suffix}.txt` in --output_dir (default: the
current directory, as the original): one line `"%d %4.3f" % (tic_id, p)` per
star, p the mean over its records (all sectors) and over the models, in
first-seen order. --per_tce keys by TCE instead (`"%d %d %4.3f"`: id, sector
or planet number, p).

--model_dir is any model form: a model directory of train.py or of the original
TF1 code, a .keras file (e.g. an exported ensemble), an exported SavedModel
directory, or a comma-separated list of them; with --average each is a
directory whose model subdirectories / .keras files are averaged. Records
whose views hold NaN are skipped and named in the log.
"""

from __future__ import annotations

import os
import time

from absl import app
from absl import flags
from absl import logging

from astronet.util import script_flags
from tf_util import cli

FLAGS = flags.FLAGS

# Probability at or above which a plotted TCE is labelled "PC/EB" (original).
PLOT_LABEL_THRESHOLD = 0.4


def define_flags() -> None:
  """Defines the command-line flags (only when run as a script)."""
  script_flags.define_model_flags("test-0000*")
  flags.DEFINE_boolean("plot", False, "Plot the views of every TCE into --save_dir.")
  flags.DEFINE_string("save_dir", None, "Directory of the plots.")
  flags.DEFINE_boolean("per_tce", False, "Key predictions by TCE (id and sector / "
                       "planet number) instead of by star.")
  flags.DEFINE_string("output_dir", ".", "Directory of prediction_{suffix}.txt.")
  flags.DEFINE_string("export_ensemble", None, "Also save the (averaged) models as ONE "
                      "model with a model card: .keras file, .onnx file, or else a "
                      "SavedModel directory (see export_model.py).")


def plot_records(records, probabilities, save_dir: str) -> int:
  """One figure of the views per record, titled with the mean prediction."""
  from astronet import plotting  # pylint: disable=import-outside-toplevel
  global_view = records.views.get("global_view")
  local_view = records.views.get("local_view")
  if global_view is None or local_view is None:
    raise ValueError("--plot needs models reading global_view and local_view")
  for i, (star, sub) in enumerate(zip(records.ids, records.sub_ids)):
    p = float(probabilities[i])
    label = "PC/EB" if p >= PLOT_LABEL_THRESHOLD else "junk"
    plotting.plot_views(global_view[i], local_view[i],
                        "{} {}: {} - {:.3f}".format(star, sub, label, p),
                        os.path.join(save_dir, "{}-{}.png".format(star, sub)))
    if i % 100 == 0:
      logging.info("Plotted %d of %d", i, len(records))
  return len(records)


def main(argv):
  del argv
  if not FLAGS.tfrecord_dir and not FLAGS.export_ensemble:
    raise app.UsageError("--tfrecord_dir is required (or only --export_ensemble)")
  if FLAGS.plot and not FLAGS.save_dir:
    raise app.UsageError("--plot needs --save_dir")
  # pylint: disable=import-outside-toplevel
  from astronet.ops import prediction
  from astronet.ops import prediction_files
  from tf_util import errors
  start = time.time()
  if FLAGS.export_ensemble:
    from astronet.ops import model_export
    model_export.check_output(FLAGS.export_ensemble,
                              model_export.format_of(FLAGS.export_ensemble))
  members = prediction.load_members(*script_flags.model_source(FLAGS), FLAGS.model)
  logging.info("%d model(s): %s", len(members), ", ".join(m.name for m in members))
  if FLAGS.export_ensemble:
    model_export.export_members(members, FLAGS.export_ensemble,
                                model_export.format_of(FLAGS.export_ensemble))
    logging.info("Exported the ensemble to %s", FLAGS.export_ensemble)
  if not FLAGS.tfrecord_dir:
    return 0
  filenames = prediction.record_files(FLAGS.tfrecord_dir, FLAGS.tfrecord_pattern)
  records = prediction.read_records(filenames, members[0].feature_lengths)
  records, skipped = prediction.split_non_finite(records)
  if skipped:
    logging.warning("Skipped %d record(s) whose views hold NaN or inf: %s", len(skipped),
                    ", ".join(skipped[:20]) + (" ..." if len(skipped) > 20 else ""))
  if not len(records):
    raise errors.RecordFormatError("No usable records in {}".format(", ".join(filenames)))
  logging.info("Read %d records from %d file(s)", len(records), len(filenames))
  probabilities = prediction.predict_members(members, records, FLAGS.batch_size)
  keys = (list(zip(records.ids.tolist(), records.sub_ids.tolist())) if FLAGS.per_tce
          else records.ids.tolist())
  predictions = prediction.average_by_key(keys, probabilities)
  path = os.path.join(FLAGS.output_dir, prediction_files.prediction_file_name(FLAGS.suffix))
  prediction_files.write_predictions(path, predictions, FLAGS.per_tce)
  elapsed = time.time() - start
  logging.info("Wrote %d predictions (%d records, %d models) to %s in %.1f s "
               "(%.0f TCEs/s)", len(predictions), len(records), len(members), path,
               elapsed, len(records) / max(elapsed, 1e-9))
  if FLAGS.plot:
    plot_records(records, probabilities.mean(axis=0), FLAGS.save_dir)
  return 0


if __name__ == "__main__":
  cli.run(main, define_flags, tensorflow=True)
