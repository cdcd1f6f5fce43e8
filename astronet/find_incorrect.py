r"""Finds misclassified TCEs: precision/recall at thresholds, true-vs-predicted table, plots.

  python astronet/find_incorrect.py --model_dir=${MODEL_DIR} \
    --tfrecord_dir=${TFRECORD_DIR} --suffix=yyy --average --plot

Predicts every record of `tfrecord_dir/test*` (--tfrecord_pattern), averaged
per TCE ('tic-sector', or 'kepid-planet' for Kepler) over records and models,
then prints for thresholds 0.1 ... 0.6 the specificity and
`Threshold t: precision=..., recall=.... Number of PCs in FNs = n`, and
`Total N PCs`, as the original (which raised ZeroDivisionError when no TCE
reached a threshold; here such ratios print as "undefined"). Writes
`true_vs_pred_{suffix}.txt` in --output_dir (default: the current directory):
`"%f %4.3f" % (is_positive, p)` per TCE (positive: a label the config maps to
1, i.e. PC or EB for TESS). With --plot, a figure of the views of each
misclassified TCE goes to --save_dir: by default, as the original, PCs
predicted below 0.1; --plot_dispositions / --plot_threshold widen that (a
negative label is misclassified at p >= threshold).
"""

from __future__ import annotations

import os

import numpy as np
from absl import app
from absl import flags
from absl import logging

from astronet.util import script_flags
from tf_util import cli

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defines the command-line flags (only when run as a script)."""
  script_flags.define_model_flags("test*")
  flags.DEFINE_boolean("plot", False, "Plot the views of misclassified TCEs.")
  flags.DEFINE_string("save_dir", "astronet/plots", "Directory of the plots.")
  flags.DEFINE_float("plot_threshold", 0.1, "Threshold of the plotted misclassifications.",
                     lower_bound=0, upper_bound=1)
  flags.DEFINE_list("plot_dispositions", ["PC"], "Labels whose misclassified TCEs are plotted.")
  flags.DEFINE_string("output_dir", ".", "Directory of true_vs_pred_{suffix}.txt.")


def main(argv):
  del argv
  if not FLAGS.tfrecord_dir:
    raise app.UsageError("--tfrecord_dir is required")
  model_paths, average = script_flags.model_source(FLAGS)
  # pylint: disable=import-outside-toplevel
  from astronet import plotting
  from astronet.ops import error_analysis
  from astronet.ops import metrics
  from astronet.ops import prediction
  from astronet.ops import prediction_files
  members = prediction.load_members(model_paths, average, FLAGS.model)
  filenames = prediction.record_files(FLAGS.tfrecord_dir, FLAGS.tfrecord_pattern)
  for filename in filenames:
    print(filename)
  # Truncated records (read_records), NaN views and labels outside the label map: one error.
  records = prediction.read_records(filenames, members[0].feature_lengths)
  prediction.check_records(records, prediction.label_inputs(members[0])["label_map"])
  probabilities = prediction.predict_members(members, records, FLAGS.batch_size)
  keys, labels, predictions = error_analysis.by_tce(records, probabilities)
  positive = error_analysis.positive_labels(records)
  is_positive = np.array([label in positive for label in labels])
  is_pc = np.array([label == "PC" for label in labels])
  table = metrics.threshold_table(is_positive, predictions, is_pc=is_pc)
  print("\n".join(error_analysis.format_table(table)))
  path = os.path.join(FLAGS.output_dir, prediction_files.true_vs_pred_file_name(FLAGS.suffix))
  prediction_files.write_true_vs_pred(path, is_positive, predictions)
  print("Total %s PCs" % int(is_pc.sum()))
  logging.info("Wrote %d TCEs to %s", len(keys), path)
  if FLAGS.plot:
    wrong = error_analysis.misclassified(labels, predictions, positive,
                                         set(FLAGS.plot_dispositions), FLAGS.plot_threshold)
    first_record = {}
    for i, key in enumerate(records.tce_keys()):
      first_record.setdefault(key, i)
    for n, i in enumerate(wrong):
      r = first_record[keys[i]]
      label = "PC/EB" if predictions[i] >= FLAGS.plot_threshold else "junk"
      plotting.plot_views(
          records.views["global_view"][r], records.views["local_view"][r],
          "{} ({}): predicted {} - {:.3f}".format(keys[i], labels[i], label, predictions[i]),
          os.path.join(FLAGS.save_dir, "{}.png".format(keys[i])))
      if n % 100 == 0:
        logging.info("Plotted %d of %d misclassified TCEs", n, len(wrong))
    logging.info("Plotted %d misclassified TCEs into %s", len(wrong), FLAGS.save_dir)
  return 0


if __name__ == "__main__":
  cli.run(main, define_flags, tensorflow=True)
