r"""Light classifiers on extracted embeddings, with cross-validated metrics.

  python astronet/transfer/classify_features.py --train_features=features_train.npz \
    --eval_features=features_val.npz --classifier=logreg --positive_labels=PC,EB

Classifiers (scikit-learn, the `transfer` extra): logreg (standardised
logistic regression), mlp (one hidden layer), gbt (histogram gradient-boosted
trees). Reports the stratified k-fold cross-validated ROC AUC and accuracy on
the training features and, given --eval_features, the metrics of the model
refit on all training features (astronet.ops.metrics.binary_metrics, as
evaluate.py). Writes them as JSON to --output.
"""

from __future__ import annotations

import numpy as np
from absl import app
from absl import flags

from tf_util import cli

FLAGS = flags.FLAGS
CLASSIFIERS = ("logreg", "mlp", "gbt")


def define_flags() -> None:
  """Defines the command-line flags (only when run as a script)."""
  flags.DEFINE_string("train_features", None, "extract_features.py output (.npz/.parquet).")
  flags.DEFINE_string("eval_features", None, "Held-out features to evaluate on.")
  flags.DEFINE_enum("classifier", "logreg", list(CLASSIFIERS), "Classifier.")
  flags.DEFINE_list("positive_labels", ["PC", "EB"], "Labels of the positive class.")
  flags.DEFINE_integer("cv_folds", 5, "Cross-validation folds.", lower_bound=2)
  flags.DEFINE_integer("seed", 0, "Seed of the folds and classifiers.", lower_bound=0)
  flags.DEFINE_string("output", None, "JSON file of the metrics.")


def make_classifier(name: str, seed: int = 0):
  """A scikit-learn pipeline for `name` (logreg, mlp, gbt)."""
  try:
    # pylint: disable=import-outside-toplevel
    from sklearn import ensemble
    from sklearn import linear_model
    from sklearn import neural_network
    from sklearn import pipeline
    from sklearn import preprocessing
  except ImportError as e:
    raise ImportError("Light classifiers need scikit-learn: pip install "
                      "'astronet-tf2[transfer]'") from e
  if name == "logreg":
    model = linear_model.LogisticRegression(C=1.0, max_iter=2000)
  elif name == "mlp":
    model = neural_network.MLPClassifier(hidden_layer_sizes=(128,), alpha=1e-3,
                                         max_iter=500, early_stopping=True, random_state=seed)
  elif name == "gbt":
    model = ensemble.HistGradientBoostingClassifier(random_state=seed)
  else:
    raise ValueError("Unknown classifier {!r}; expected one of {}".format(name, CLASSIFIERS))
  return pipeline.make_pipeline(preprocessing.StandardScaler(), model)


def binary_targets(labels, positive_labels) -> np.ndarray:
  return np.isin(np.asarray(labels).astype(str), list(positive_labels))


def evaluate_classifier(name: str, train: dict, eval_table: dict | None, positive_labels,
                        cv_folds: int = 5, seed: int = 0) -> dict:
  """Cross-validated metrics on `train`, and held-out metrics on `eval_table`."""
  # pylint: disable=import-outside-toplevel
  from sklearn import model_selection

  from astronet.ops import metrics
  x, y = train["features"], binary_targets(train["labels"], positive_labels)
  if y.all() or not y.any():
    raise ValueError("The training features need both classes ({} positive of {})".format(
        int(y.sum()), len(y)))
  folds = model_selection.StratifiedKFold(cv_folds, shuffle=True, random_state=seed)
  cv_probs = model_selection.cross_val_predict(make_classifier(name, seed), x, y, cv=folds,
                                               method="predict_proba")[:, 1]
  cv = metrics.binary_metrics(y, cv_probs)
  result = {"classifier": name, "num_train": int(len(y)), "feature_dim": int(x.shape[1]),
            "cv_folds": cv_folds, "cv_auc": cv["auc"], "cv_accuracy": cv["accuracy"],
            "cv_average_precision": cv["average_precision"]}
  if eval_table is not None:
    classifier = make_classifier(name, seed).fit(x, y)
    probs = classifier.predict_proba(eval_table["features"])[:, 1]
    result["eval"] = metrics.binary_metrics(
        binary_targets(eval_table["labels"], positive_labels), probs)
  return result


def main(argv):
  del argv
  if not FLAGS.train_features:
    raise app.UsageError("--train_features is required")
  from astronet.transfer import extract_features  # pylint: disable=import-outside-toplevel
  try:
    train = extract_features.load(FLAGS.train_features)
    eval_table = extract_features.load(FLAGS.eval_features) if FLAGS.eval_features else None
    result = evaluate_classifier(FLAGS.classifier, train, eval_table, FLAGS.positive_labels,
                                 FLAGS.cv_folds, FLAGS.seed)
  except (OSError, ValueError, ImportError) as e:
    cli.fail(str(e))
  print("{}: cross-validated AUC {:.4f}, accuracy {:.4f} ({} folds, {} TCEs)".format(
      result["classifier"], result["cv_auc"], result["cv_accuracy"], result["cv_folds"],
      result["num_train"]))
  if "eval" in result:
    print("held out: AUC {:.4f}, accuracy {:.4f} ({} TCEs)".format(
        result["eval"]["auc"], result["eval"]["accuracy"], result["eval"]["num_examples"]))
  if FLAGS.output:
    from tf_util import atomic_io  # pylint: disable=import-outside-toplevel
    atomic_io.write_json(FLAGS.output, result)
  return 0


if __name__ == "__main__":
  cli.run(main, define_flags)
