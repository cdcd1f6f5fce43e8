"""Cross-validated light-curve classification with ASTROMER embeddings (the
library behind `python -m astromer.classify`; see classify.py for the
scenarios, the splits and the outputs).
"""

from __future__ import annotations

import csv
import os
import tempfile
import time

import numpy as np
from absl import logging

import astromer
from astromer import classifiers
from astromer import features
from astromer import preprocessing
from astromer.models import SingleBandEncoder
from tf_util import atomic_io

SCENARIOS = astromer.SCENARIOS


def load_encoder(weights: str):
  """SingleBandEncoder from a pretrained name ('macho', ...) or a weights folder."""
  if os.path.isdir(weights):
    return SingleBandEncoder.from_folder(weights)
  return SingleBandEncoder.from_pretraining(weights, download=False)


def _inputs(windows: dict, rows: np.ndarray) -> dict:
  return {k: windows[k][rows] for k in ("input", "times", "mask_in")}


def _object_splits(labels: np.ndarray, folds: int, val_fraction: float, seed: int):
  """Yields (train, val, test) object indices of each fold."""
  from sklearn import model_selection  # noqa: PLC0415  (scikit-learn: only this function needs it)
  smallest = int(np.bincount(labels).min())
  if smallest < folds:
    raise ValueError("the smallest class has {} objects: fewer than --folds={}".format(
        smallest, folds))
  outer = model_selection.StratifiedKFold(folds, shuffle=True, random_state=seed)
  for train_val, test in outer.split(np.zeros(len(labels)), labels):
    try:
      train, val = model_selection.train_test_split(
          train_val, test_size=val_fraction, stratify=labels[train_val], random_state=seed)
    except ValueError:  # a class too small to stratify: plain random hold-out
      train, val = model_selection.train_test_split(train_val, test_size=val_fraction,
                                                    random_state=seed)
    yield np.sort(train), np.sort(val), test


class _FoldRunner:
  """Trains one scenario on one fold and returns per-window class probabilities."""

  def __init__(self, scenario: str, head: str, weights: str, num_classes: int, settings: dict):
    self.scenario, self.head, self.weights = scenario, head, weights
    self.num_classes, self.settings = num_classes, settings
    self._embeddings = None

  def _train(self, model, train_inputs, train_labels, val_inputs, val_labels, fold_dir):
    s = self.settings
    classifiers.train(model, train_inputs, train_labels, val_inputs, val_labels,
                      epochs=s["epochs"], patience=s["patience"], lr=s["lr"],
                      batch_size=s["batch_size"], project_path=fold_dir, verbose=s["verbose"])

  def _head(self, maxlen, d_model):
    return classifiers.build_head(self.head, self.num_classes, maxlen, d_model,
                                  self.settings["units"], self.settings["dropout"])

  def window_probabilities(self, windows, window_labels, rows, curves, obj, fold_dir):
    """rows: {"train", "val", "test"} window indices; obj: the same as object indices."""
    s = self.settings
    y_train, y_val = window_labels[rows["train"]], window_labels[rows["val"]]
    if self.scenario == "lstm":
      model = classifiers.build_lstm_baseline(self.num_classes, windows["input"].shape[1],
                                              s["units"], s["dropout"])
      self._train(model, _inputs(windows, rows["train"]), y_train,
                  _inputs(windows, rows["val"]), y_val, fold_dir)
      return classifiers.softmax(model.predict(_inputs(windows, rows["test"]), verbose=0))
    if self.scenario == "a":
      if self._embeddings is None:  # frozen encoder: embed every window once for all folds
        encoder = load_encoder(self.weights)
        self._embeddings = encoder._predict(windows, 64)  # pylint: disable=protected-access
      def head_inputs(r):
        return {"embedding": self._embeddings[r], "mask_in": windows["mask_in"][r]}
      model = self._head(*self._embeddings.shape[1:])
      self._train(model, head_inputs(rows["train"]), y_train, head_inputs(rows["val"]), y_val,
                  fold_dir)
      return classifiers.softmax(model.predict(head_inputs(rows["test"]), verbose=0))
    encoder = load_encoder(self.weights)
    if self.scenario == "c":
      if fold_dir is None:
        fold_dir = tempfile.mkdtemp(prefix="astromer_classify_")
      finetune = lambda o: preprocessing.load_numpy(  # noqa: E731
          [curves[i] for i in o], batch_size=s["batch_size"], max_obs=encoder.maxlen,
          msk_frac=0.5, rnd_frac=0.2, same_frac=0.2, seed=s["seed"])
      history = encoder.fit(finetune(obj["train"]), finetune(obj["val"]),
                            epochs=s["finetune_epochs"], patience=s["patience"], lr=s["lr"],
                            project_path=os.path.join(fold_dir, "finetune"))
      logging.info("reconstruction fine-tuning: valid RMSE %.4f -> %.4f", history["valid"][0],
                   min(history["valid"]))
      encoder = load_encoder(os.path.join(fold_dir, "finetune"))  # best epoch's weights
    model = classifiers.build_classifier(encoder.model, self._head(encoder.maxlen,
                                                                   encoder.d_model),
                                         trainable_encoder=True)
    self._train(model, _inputs(windows, rows["train"]), y_train, _inputs(windows, rows["val"]),
                y_val, fold_dir)
    return classifiers.softmax(model.predict(_inputs(windows, rows["test"]), verbose=0))


def _object_probabilities(window_probs, window_ids, object_ids):
  return np.stack([window_probs[window_ids == oid].mean(axis=0) for oid in object_ids])


def cross_validate(curves, ids, labels, class_names, scenario: str, head: str = "lstm",
                   weights: str = "macho", folds: int = 5, repeats: int = 1,
                   val_fraction: float = 0.2, epochs: int = 100, patience: int = 20,
                   lr: float = 1e-3, batch_size: int = 32, units: int = 256, dropout: float = 0.5,
                   finetune_epochs: int = 20, maxlen: int | None = None, seed: int = 0,
                   output_dir: str | None = None, verbose: int = 0) -> dict:
  """Stratified k-fold classification of labelled light curves (see module docstring).

  Returns {"scenario", "head", "folds": [...], "pooled": [...per repeat],
  "macro_f1_mean", "macro_f1_std", "accuracy_mean", "predictions": [...]}.
  """
  import keras  # noqa: PLC0415  (Keras loads TensorFlow, kept out of the import of this module)
  from sklearn import metrics  # noqa: PLC0415  (scikit-learn: only this function needs it)
  if scenario not in SCENARIOS:
    raise ValueError("unknown scenario {!r}; choose one of {}".format(scenario, SCENARIOS))
  labels = np.asarray(labels, np.int32)
  ids = [str(i) for i in ids]
  if len(set(ids)) != len(ids):
    raise ValueError("object ids are not unique")
  settings = dict(epochs=epochs, patience=patience, lr=lr, batch_size=batch_size, units=units,
                  dropout=dropout, finetune_epochs=finetune_epochs, seed=seed, verbose=verbose)
  num_classes = len(class_names)
  splits = [list(_object_splits(labels, folds, val_fraction, seed + r)) for r in range(repeats)]
  if scenario == "rf":
    feature_matrix = features.feature_matrix(curves)
  else:
    if maxlen is None:
      maxlen = 200 if scenario == "lstm" else load_encoder(weights).maxlen
    windows = preprocessing.windows_of(curves, ids, maxlen)
    label_of = dict(zip(ids, labels))
    window_labels = np.array([label_of[i] for i in windows["id"]], np.int32)
  results = {"scenario": scenario, "head": head if scenario in "abc" else None,
             "classes": list(class_names), "num_objects": len(ids), "settings": settings,
             "folds": [], "pooled": [], "predictions": []}
  start = time.time()
  for repeat in range(repeats):
    runner = _FoldRunner(scenario, head, weights, num_classes, settings)
    pooled_true, pooled_pred, window_true, window_pred = [], [], [], []
    for fold, (train, val, test) in enumerate(splits[repeat]):
      keras.utils.set_random_seed(seed + 1000 * repeat + fold)
      fold_dir = os.path.join(output_dir, "repeat_{}".format(repeat), "fold_{}".format(
          fold)) if output_dir else None
      test_ids = [ids[i] for i in test]
      if scenario == "rf":
        from sklearn import ensemble  # noqa: PLC0415  (scikit-learn: only this function needs it)
        forest = ensemble.RandomForestClassifier(500, class_weight="balanced",
                                                 random_state=seed + repeat)
        train_val = np.concatenate([train, val])
        forest.fit(feature_matrix[train_val], labels[train_val])
        probs = np.zeros([len(test), num_classes])
        probs[:, forest.classes_] = forest.predict_proba(feature_matrix[test])
      else:
        rows = {name: np.nonzero(np.isin(windows["id"], [ids[i] for i in part]))[0]
                for name, part in (("train", train), ("val", val), ("test", test))}
        window_probs = runner.window_probabilities(
            windows, window_labels, rows, curves, {"train": train, "val": val}, fold_dir)
        probs = _object_probabilities(window_probs, windows["id"][rows["test"]], test_ids)
        window_true.extend(window_labels[rows["test"]])
        window_pred.extend(window_probs.argmax(axis=1))
      predicted = probs.argmax(axis=1)
      fold_f1 = metrics.f1_score(labels[test], predicted, average="macro",
                                 labels=range(num_classes), zero_division=0)
      results["folds"].append({"repeat": repeat, "fold": fold, "macro_f1": float(fold_f1),
                               "accuracy": float(np.mean(predicted == labels[test])),
                               "num_test_objects": len(test)})
      logging.info("%s repeat %d fold %d: macro F1 %.3f (%d test objects, %.0f s so far)",
                   scenario, repeat, fold, fold_f1, len(test), time.time() - start)
      for oid, true, pred, p in zip(test_ids, labels[test], predicted, probs):
        results["predictions"].append({"repeat": repeat, "fold": fold, "id": oid,
                                       "true": class_names[true], "predicted": class_names[pred],
                                       "probabilities": [float(x) for x in p]})
      pooled_true.extend(labels[test])
      pooled_pred.extend(predicted)
    pooled = {"repeat": repeat,
              "macro_f1": float(metrics.f1_score(pooled_true, pooled_pred, average="macro",
                                                 labels=range(num_classes), zero_division=0)),
              "accuracy": float(np.mean(np.array(pooled_true) == np.array(pooled_pred))),
              "confusion_matrix": metrics.confusion_matrix(
                  pooled_true, pooled_pred, labels=range(num_classes)).tolist()}
    if window_true:
      pooled["window_macro_f1"] = float(metrics.f1_score(
          window_true, window_pred, average="macro", labels=range(num_classes), zero_division=0))
    results["pooled"].append(pooled)
  f1s = [p["macro_f1"] for p in results["pooled"]]
  results.update(macro_f1_mean=float(np.mean(f1s)), macro_f1_std=float(np.std(f1s)),
                 accuracy_mean=float(np.mean([p["accuracy"] for p in results["pooled"]])),
                 fold_macro_f1_mean=float(np.mean([f["macro_f1"] for f in results["folds"]])),
                 wall_time_s=time.time() - start)
  if output_dir:
    write_outputs(results, output_dir)
  return results


def write_outputs(results: dict, output_dir: str) -> None:
  """results.json, predictions.csv and confusion_matrix.png (pooled, summed over repeats)."""
  import matplotlib  # noqa: PLC0415  (plotting only)
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # noqa: PLC0415  (plotting only)
  os.makedirs(output_dir, exist_ok=True)
  atomic_io.write_json(os.path.join(output_dir, "results.json"),
                       {k: v for k, v in results.items() if k != "predictions"})
  names = results["classes"]
  with atomic_io.atomic_open(os.path.join(output_dir, "predictions.csv")) as f:
    writer = csv.writer(f)
    writer.writerow(["repeat", "fold", "id", "true", "predicted"] + ["p_" + n for n in names])
    for p in results["predictions"]:
      writer.writerow([p["repeat"], p["fold"], p["id"], p["true"], p["predicted"]] +
                      ["{:.6f}".format(x) for x in p["probabilities"]])
  matrix = np.sum([p["confusion_matrix"] for p in results["pooled"]], axis=0)
  fig, ax = plt.subplots(figsize=(4 + 0.5 * len(names), 3.5 + 0.5 * len(names)))
  ax.imshow(matrix, cmap="Blues")
  for (i, j), value in np.ndenumerate(matrix):
    ax.text(j, i, str(value), ha="center", va="center")
  ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
  ax.set_yticks(range(len(names)), names)
  ax.set_xlabel("predicted")
  ax.set_ylabel("true")
  title = results["scenario"] + (" / " + results["head"] if results["head"] else "")
  ax.set_title("{}: macro F1 {:.3f}".format(title, results["macro_f1_mean"]))
  fig.tight_layout()
  with atomic_io.atomic_path(os.path.join(output_dir, "confusion_matrix.png")) as tmp:
    fig.savefig(tmp, dpi=100)
  plt.close(fig)
