r"""ROC and precision-recall figures from find_incorrect.py's true_vs_pred files.

  python astronet/plot_roc.py --input_files=true_vs_pred_yyy.txt \
    --output_file=roc_yyy.png
  # Several models on one figure:
  python astronet/plot_roc.py --input_files=true_vs_pred_a.txt,true_vs_pred_b.txt \
    --labels="single model,ensemble" --output_file=roc.png

(The original's plot_roc.py had its file names written into the code.) Prints,
per input, the ROC AUC, the average precision and precision / recall at the
thresholds 0.1 ... 0.6 (`p >= t` called positive), and draws the ROC curve
(left) and the precision-recall curve (right) with those thresholds marked.
"""

from __future__ import annotations

import os

import numpy as np
from absl import app
from absl import flags
from absl import logging

from tf_util import cli

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defines the command-line flags (only when run as a script)."""
  flags.DEFINE_list("input_files", None, "true_vs_pred_{suffix}.txt files.")
  flags.DEFINE_list("labels", None, "Legend label of each input (default: file names).")
  flags.DEFINE_string("output_file", "roc.png", "Figure to write (.png, .pdf, ...).")
  flags.DEFINE_list("thresholds", ["0.1", "0.2", "0.3", "0.4", "0.5", "0.6"],
                    "Thresholds of the precision / recall table.")


def summarize(is_positive: np.ndarray, predictions: np.ndarray, thresholds) -> dict:
  """AUC, average precision, curves and the threshold table of one input."""
  from astronet.ops import metrics  # pylint: disable=import-outside-toplevel
  fpr, tpr = metrics.roc_curve(is_positive, predictions)
  recall, precision = metrics.precision_recall_curve(is_positive, predictions)
  return {
      "num_tces": int(len(predictions)),
      "num_positive": int(np.sum(is_positive)),
      "auc": metrics.curve_area(fpr, tpr),
      "auc_1000_thresholds": metrics.roc_auc(is_positive, predictions),
      "average_precision": metrics.average_precision(is_positive, predictions),
      "table": metrics.threshold_table(is_positive, predictions, thresholds),
      "roc": (fpr, tpr),
      "pr": (recall, precision),
  }


def format_summary(label: str, summary: dict) -> list[str]:
  show = lambda v: "undefined" if v is None else "{:.4f}".format(v)
  lines = ["{}: {} TCEs ({} positive), AUC={:.4f}, average precision={:.4f}".format(
      label, summary["num_tces"], summary["num_positive"], summary["auc"],
      summary["average_precision"])]
  for row in summary["table"]:
    lines.append("  Threshold {}: precision={}, recall={}".format(
        row["threshold"], show(row["precision"]), show(row["recall"])))
  return lines


def plot(summaries: list[tuple[str, dict]], output_file: str) -> None:
  """ROC (left) and precision-recall (right) curves, thresholds marked on both."""
  # pylint: disable=import-outside-toplevel
  import matplotlib.pyplot as plt

  from astronet import plotting
  fig, (ax_roc, ax_pr) = plt.subplots(1, 2, figsize=(12, 5.2))
  for label, summary in summaries:
    fpr, tpr = summary["roc"]
    line, = ax_roc.plot(fpr, tpr, label="{} (AUC {:.3f})".format(label, summary["auc"]))
    recall, precision = summary["pr"]
    ax_pr.plot(recall, precision, color=line.get_color(),
               label="{} (AP {:.3f})".format(label, summary["average_precision"]))
    for row in summary["table"]:
      if row["precision"] is None or row["specificity"] is None:
        continue
      ax_pr.plot(row["recall"], row["precision"], "o", color=line.get_color(), ms=4)
      ax_pr.annotate("{:g}".format(row["threshold"]), (row["recall"], row["precision"]),
                     textcoords="offset points", xytext=(4, 4), fontsize=7)
      ax_roc.plot(1 - row["specificity"], row["recall"], "o", color=line.get_color(), ms=4)
  ax_roc.plot([0, 1], [0, 1], ":", color="grey")
  ax_roc.set(xlabel="false positive rate", ylabel="true positive rate (recall)",
             title="ROC", xlim=(0, 1), ylim=(0, 1.01))
  ax_pr.set(xlabel="recall", ylabel="precision", title="precision-recall",
            xlim=(0, 1.01), ylim=(0, 1.01))
  for ax in (ax_roc, ax_pr):
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right" if ax is ax_roc else "lower left", fontsize=8)
  fig.tight_layout()
  plotting.save_figure(fig, output_file)


def main(argv):
  del argv
  if not FLAGS.input_files:
    raise app.UsageError("--input_files is required")
  labels = FLAGS.labels or [os.path.basename(f) for f in FLAGS.input_files]
  if len(labels) != len(FLAGS.input_files):
    raise app.UsageError("--labels needs one label per input file")
  from astronet.ops import prediction_files  # pylint: disable=import-outside-toplevel
  thresholds = [float(t) for t in FLAGS.thresholds]
  summaries = []
  for path, label in zip(FLAGS.input_files, labels):
    try:
      is_positive, predictions = prediction_files.read_true_vs_pred(path)
    except (OSError, ValueError) as e:
      logging.error("Cannot read %s: %s", path, e)
      return 2
    if len(predictions) == 0 or is_positive.all() or not is_positive.any():
      logging.error("%s needs both positive and negative TCEs for a ROC curve", path)
      return 2
    summary = summarize(is_positive, predictions, thresholds)
    print("\n".join(format_summary(label, summary)))
    summaries.append((label, summary))
  plot(summaries, FLAGS.output_file)
  logging.info("Wrote %s", FLAGS.output_file)
  return 0


if __name__ == "__main__":
  cli.run(main, define_flags)
