"""Grouped cross-validation of the flare models by star, with bootstrap intervals.

Every real star is a test star exactly once: the stars (TICs) are shuffled with
the config's seed and cut into K folds; fold k tests on its stars, selects the
epoch on about one fold's worth of the next folds' stars (early stopping on
their window F1) and trains on the rest. Each star keeps the windows it has in the ordinary split (its
injections are seeded by the star), so a fold's data is a regrouping of one
window set. Per test star this records the window labels and probabilities
(transformer, CNN baseline; stella on the real windows) and the event counts of
the whole-light-curve detector against the catalogue's peaks.

Pooled figures concatenate the stars; their 95 % intervals come from a
bootstrap over stars (stars drawn with replacement, `num_bootstrap` times,
percentiles 2.5 / 97.5), so a star with many windows or flares weighs as in
the pooled figure and the interval reflects how much the result depends on
which stars were observed.

Folds are run directories cv_dir/fold_<k>/<architecture>/ of
flare_transformer.train; a finished fold is reused (its scores are stored in
scores.json) and an interrupted one resumes, so the whole CV can be stopped and
restarted.
"""

from __future__ import annotations

import copy
import json
import os

import numpy as np
from absl import logging

from flare_transformer import data
from flare_transformer import detection
from flare_transformer import evaluation
from flare_transformer import metrics
from flare_transformer import stella
from flare_transformer import training
from tf_util import atomic_io

WINDOW_METRICS = ("f1", "precision", "recall", "roc_auc")
EVENT_COUNTS = ("catalog_flares", "recovered", "detections", "false_or_uncatalogued")


def folds(tics, k: int, seed: int) -> list[list[int]]:
  """K groups of stars (shuffled with `seed`, sizes differing by at most one)."""
  tics = sorted(set(int(t) for t in tics))
  if not 2 <= k <= len(tics):
    raise ValueError("--cv={} needs 2 <= K <= the number of stars ({})".format(k, len(tics)))
  order = np.random.default_rng(seed).permutation(len(tics))
  return [sorted(int(tics[i]) for i in part) for part in np.array_split(order, k)]


def _validation_and_training(groups: list[list[int]], fold: int) -> tuple[list, list]:
  """The stars that select fold `fold`'s epoch (about one fold's worth, taken from the
  next folds; half the rest when K = 2) and those it trains on."""
  k = len(groups)
  rest = [t for g in groups[fold + 1:] + groups[:fold] for t in g]
  n_val = max(1, len(rest) // (k - 1 if k > 2 else 2))
  if len(rest) <= n_val:
    raise ValueError("too few stars for {} folds: fold {} has none left to train on".format(
        k, fold + 1))
  return sorted(rest[:n_val]), sorted(rest[n_val:])


def _subset(windows: dict, tics) -> dict:
  mask = np.isin(windows["tic"], list(tics))
  return {k: v[mask] for k, v in windows.items()}


def all_windows(config: dict) -> dict:
  """Every star's windows in one split (the ordinary windows of each star)."""
  whole = copy.deepcopy(config)
  whole["data"].update(train_split=1.0, val_split=0.0, test_split=0.0)
  return training.load_windows(whole)["train"]


def _star_scores(model, windows: dict, lc, peaks) -> dict:
  probs = training.predict_probabilities(model, windows["x"]) if len(windows["y"]) else \
      np.zeros(0)
  _, found = detection.detect(model, lc)
  return {"y": windows["y"].tolist(), "p": probs.tolist(),
          "synthetic": windows["synthetic"].tolist(),
          "events": {k: metrics.event_metrics(found, peaks)[k] for k in EVENT_COUNTS}}


def run_folds(config: dict, k: int, cv_dir: str, windows: dict, curves: dict, peaks: dict,
              architectures=("transformer", "cnn")) -> dict:
  """{"folds", "scores": {architecture: {tic: star scores}}}, training (or reusing) each
  fold's models on `windows` (all_windows) and scoring them on `curves` against `peaks`."""
  groups = folds(windows["tic"], k, config["training"]["seed"])
  scores = {a: {} for a in architectures}
  for fold, test_tics in enumerate(groups):
    val_tics, train_tics = _validation_and_training(groups, fold)
    split = {"train": _subset(windows, train_tics), "val": _subset(windows, val_tics),
             "test": _subset(windows, test_tics)}
    for architecture in architectures:
      run_dir = os.path.join(cv_dir, "fold_{}".format(fold), architecture)
      path = os.path.join(run_dir, "scores.json")
      if os.path.exists(path):
        with open(path) as f:
          fold_scores = json.load(f)
      else:
        fold_config = copy.deepcopy(config)
        fold_config["model"]["architecture"] = architecture
        logging.info("CV fold %d/%d %s: test %s, val %s, train %d stars", fold + 1, k,
                     architecture, test_tics, val_tics, len(train_tics))
        model, _, _ = training.train(fold_config, run_dir, resume=True, verbose=0,
                                     windows=split)
        fold_scores = {"test_tics": test_tics, "val_tics": val_tics,
                       "train_tics": train_tics, "stars": {
                           str(t): _star_scores(model, _subset(split["test"], [t]),
                                                curves[t], peaks.get(t, []))
                           for t in test_tics}}
        atomic_io.write_json(path, fold_scores)
      for tic, star in fold_scores["stars"].items():
        scores[architecture][int(tic)] = dict(star, fold=fold)
  return {"folds": groups, "scores": scores}


def stella_scores(stella_path: str, tics, windows: dict, curves: dict, peaks: dict) -> dict:
  """{tic: star scores} of stella's released ensemble on each star's real windows (its
  own input and windowing; see evaluation.stella_window_probabilities)."""
  ensemble = stella.load_stella_ensemble(stella_path)
  out = {}
  for tic in tics:
    time, flux = stella.stella_light_curve(curves[tic].path)
    probability = stella.predict_light_curve(ensemble, time, flux)
    real = _subset(windows, [tic])
    real = {k: v[real["synthetic"] == 0] for k, v in real.items()}
    probs = evaluation.stella_window_probabilities({tic: (time, probability)}, real)
    scored = np.isfinite(probs)
    found = metrics.intervals(time, probability, 0.5, join=3, flux=flux)
    out[int(tic)] = {"y": real["y"][scored].tolist(), "p": probs[scored].tolist(),
                     "synthetic": [0] * int(scored.sum()),
                     "unscored_real_windows": int((~scored).sum()),
                     "events": {k: metrics.event_metrics(found, peaks.get(tic, []))[k]
                                for k in EVENT_COUNTS}}
  return out


def pooled(stars: dict, tics, real_only: bool = False) -> dict:
  """Window metrics and event recall / precision of the stars `tics` taken together
  (a star drawn twice counts twice)."""
  y, p = [], []
  counts = dict.fromkeys(EVENT_COUNTS, 0)
  for tic in tics:
    star = stars[tic]
    keep = np.asarray(star["synthetic"]) == 0 if real_only else np.ones(len(star["y"]), bool)
    y.append(np.asarray(star["y"])[keep])
    p.append(np.asarray(star["p"])[keep])
    for key in EVENT_COUNTS:
      counts[key] += star["events"][key]
  y, p = np.concatenate(y) if y else np.zeros(0), np.concatenate(p) if p else np.zeros(0)
  window = metrics.binary_metrics(y, p) if len(y) else {}
  out = {m: window.get(m, float("nan")) for m in WINDOW_METRICS}
  out["windows"], out["flare_windows"] = int(len(y)), int(np.sum(y))
  out["event_recall"] = counts["recovered"] / counts["catalog_flares"] if counts[
      "catalog_flares"] else float("nan")
  out["event_precision"] = 1 - counts["false_or_uncatalogued"] / counts["detections"] if \
      counts["detections"] else float("nan")
  out.update(counts)
  return out


def bootstrap(stars: dict, num_bootstrap: int = 1000, seed: int = 0,
              real_only: bool = False) -> dict:
  """{metric: [low, high]}: 95 % percentile interval over stars drawn with replacement."""
  tics = sorted(stars)
  rng = np.random.default_rng(seed)
  keys = WINDOW_METRICS + ("event_recall", "event_precision")
  samples = {key: [] for key in keys}
  for _ in range(num_bootstrap):
    drawn = [tics[i] for i in rng.integers(0, len(tics), len(tics))]
    result = pooled(stars, drawn, real_only)
    for key in keys:
      samples[key].append(result[key])
  out = {}
  for key, values in samples.items():
    values = np.asarray(values, np.float64)
    values = values[np.isfinite(values)]
    out[key] = [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))] if len(
        values) else [float("nan"), float("nan")]
  return out


def summarize(scores: dict, num_bootstrap: int = 1000, seed: int = 0) -> dict:
  """Per model: pooled figures (all windows and real windows only) with bootstrap
  intervals, and per star."""
  out = {}
  for name, stars in scores.items():
    real_only = name == "stella"  # stella sees no injected flare
    out[name] = {
        "pooled": pooled(stars, sorted(stars), real_only),
        "interval_95": bootstrap(stars, num_bootstrap, seed, real_only),
        "pooled_real_windows": pooled(stars, sorted(stars), True),
        "interval_95_real_windows": bootstrap(stars, num_bootstrap, seed, True),
        "per_star": {int(t): pooled(stars, [t], real_only) for t in sorted(stars)}}
  return out


def _cell(value, interval=None) -> str:
  if value is None or not np.isfinite(value):
    return "-"
  if interval is None or not all(np.isfinite(interval)):
    return "{:.3f}".format(value)
  return "{:.3f} [{:.2f}, {:.2f}]".format(value, *interval)


def markdown(summary: dict, folds_: list) -> str:
  """The CV tables: pooled with 95 % intervals, real windows only, and per star."""
  lines = ["Folds (test stars): " + "; ".join(
      "{}: {}".format(i + 1, ", ".join(str(t) for t in f)) for i, f in enumerate(folds_)), "",
           "| model | windows | F1 | precision | recall | ROC-AUC | event recall | "
           "event precision |", "|---|---|---|---|---|---|---|---|"]
  for key, label in (("", "all test windows (real + injected)"),
                     ("_real_windows", "real windows only")):
    for name, s in summary.items():
      if name == "stella" and not key:
        continue
      p, ci = s["pooled" + key], s["interval_95" + key]
      lines.append("| {} | {} ({}, {} flare) | {} | {} | {} | {} | {} | {} |".format(
          name, label, p["windows"], p["flare_windows"], *(_cell(p[m], ci[m]) for m in (
              WINDOW_METRICS + ("event_recall", "event_precision")))))
  tics = sorted({t for s in summary.values() for t in s["per_star"]})
  lines += ["", "Per star (test fold): window F1 / ROC-AUC; catalogued flares recovered; "
            "detections matching no catalogued flare:", "",
            "| star | " + " | ".join(summary) + " |", "|---|" + "---|" * len(summary)]
  for tic in tics:
    cells = []
    for s in summary.values():
      star = s["per_star"].get(tic)
      cells.append("-" if star is None else "F1 {} / AUC {}; {}/{}; {} false".format(
          _cell(star["f1"]), _cell(star["roc_auc"]), star["recovered"],
          star["catalog_flares"], star["false_or_uncatalogued"]))
    lines.append("| TIC {} | {} |".format(tic, " | ".join(cells)))
  return "\n".join(lines) + "\n"


def cross_validate(config: dict, k: int, cv_dir: str, stella_path: str | None = None,
                   event_catalog: str | None = None, num_bootstrap: int = 1000,
                   architectures=("transformer", "cnn")) -> dict:
  """Runs (or resumes) the K-fold CV; returns {"folds", "summary", "markdown"}."""
  windows = all_windows(config)
  curves = data.light_curves(config["data"])
  event_catalog, peaks = data.event_peaks(config["data"], event_catalog)
  result = run_folds(config, k, cv_dir, windows, curves, peaks, architectures)
  scores = dict(result["scores"])
  if stella_path:
    tics = sorted({t for s in scores.values() for t in s})
    scores["stella"] = stella_scores(stella_path, tics, windows, curves, peaks)
  summary = summarize(scores, num_bootstrap, config["training"]["seed"])
  return {"folds": result["folds"], "event_catalog": event_catalog,
          "summary": summary, "markdown": markdown(summary, result["folds"])}
