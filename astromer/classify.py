r"""Cross-validated light-curve classification with ASTROMER embeddings.

  python -m astromer.classify --data=DIR --scenario=a --head=lstm --output_dir=OUT

Scenarios (the ASTROMER paper's):
  a  frozen pretrained encoder, classifier head trained on its embeddings;
  b  encoder and head trained end to end on the labels;
  c  encoder first fine-tuned by masked reconstruction on the target set's
     training objects (`SingleBandEncoder.fit`), then trained as (b);
  lstm  the paper's baseline: the same LSTM on the windows themselves (no encoder);
  rf    a non-neural baseline: random forest on period / amplitude features.

`--data` is a folder of per-object CSVs (class = file-name prefix, or
`--labels_csv`) or a labelled record folder (astromer.light_curves). Objects
are split by stratified k-fold (`--folds`, repeated `--repeats` times with
other shuffles); within each training fold `--val_fraction` of the objects
(stratified) are held out for early stopping. Windows are classified and an
object's prediction is the mean of its windows' class probabilities.

Outputs in --output_dir: results.json (macro F1 / accuracy per fold, the
pooled out-of-fold scores, mean and std over repeats, settings),
predictions.csv (repeat, fold, id, true and predicted class, probabilities)
and confusion_matrix.png.
"""

from __future__ import annotations

from absl import flags
from absl import logging

import astromer
from tf_util import cli


def define_flags() -> None:
  flags.DEFINE_string("data", None, "Folder of labelled per-object CSVs or a labelled record "
                      "folder.")
  flags.DEFINE_string("labels_csv", None, "CSV with columns id,label (default: the class is the "
                      "file-name prefix).")
  flags.DEFINE_enum("scenario", "a", astromer.SCENARIOS, "a: frozen encoder; b: end to end; c: "
                    "reconstruction fine-tuning, then end to end; lstm / rf: baselines.")
  flags.DEFINE_enum("head", "lstm", astromer.HEADS, "Classifier head on the embeddings.")
  flags.DEFINE_string("weights", "macho", "Pretrained name or weights folder.")
  flags.DEFINE_integer("folds", 5, "Stratified folds (by object).", lower_bound=2)
  flags.DEFINE_integer("repeats", 1, "Cross-validation repeats with other shuffles.",
                       lower_bound=1)
  flags.DEFINE_float("val_fraction", 0.2, "Training objects held out for early stopping.",
                     lower_bound=0, upper_bound=0.9)
  flags.DEFINE_integer("epochs", 100, "Maximum classifier epochs.", lower_bound=1)
  flags.DEFINE_integer("patience", 20, "Early-stopping patience (epochs).", lower_bound=1)
  flags.DEFINE_float("lr", 1e-3, "Adam learning rate.", lower_bound=1e-12)
  flags.DEFINE_integer("batch_size", 32, "Windows per batch.", lower_bound=1)
  flags.DEFINE_integer("units", 256, "LSTM units.", lower_bound=1)
  flags.DEFINE_float("dropout", 0.5, "LSTM input dropout.", lower_bound=0, upper_bound=0.99)
  flags.DEFINE_integer("finetune_epochs", 20, "Scenario c: reconstruction epochs.",
                       lower_bound=1)
  flags.DEFINE_integer("seed", 0, "Seed of the splits and initialisation.", lower_bound=0)
  flags.DEFINE_string("output_dir", None, "Where results.json, predictions.csv and the figure go.")
  flags.mark_flags_as_required(["data", "output_dir"])


def main(argv):
  del argv
  # pylint: disable=import-outside-toplevel
  import numpy as np

  from astromer import downstream
  from astromer import light_curves
  from tf_util import atomic_io
  f = flags.FLAGS
  atomic_io.check_writable(f.output_dir)
  curves, ids, labels, names = light_curves.read_labelled_folder(f.data, f.labels_csv)
  logging.info("%d objects, classes %s", len(ids), dict(zip(names, np.bincount(labels))))
  results = downstream.cross_validate(curves, ids, labels, names, f.scenario, f.head, f.weights, f.folds,
                           f.repeats, f.val_fraction, f.epochs, f.patience, f.lr, f.batch_size,
                           f.units, f.dropout, f.finetune_epochs, seed=f.seed,
                           output_dir=f.output_dir, verbose=0)
  print("scenario {}{}: macro F1 {:.3f} ± {:.3f}, accuracy {:.3f} ({} objects, {}-fold × {})".format(
      f.scenario, "/" + f.head if f.scenario in "abc" else "", results["macro_f1_mean"],
      results["macro_f1_std"], results["accuracy_mean"], len(ids), f.folds, f.repeats))


if __name__ == "__main__":
  cli.run(main, define_flags, tensorflow=True)
