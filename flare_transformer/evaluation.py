"""Scores flare models against each other: window level on the held-out test split,
event level per real star against a catalogue (the library behind
`python -m flare_transformer.evaluate`, whose docstring says what is measured).

`models` map a name to a .keras flare model, a training run directory (its
best_model.keras) or an already loaded Keras model.
"""

from __future__ import annotations

import numpy as np
from absl import logging

from flare_transformer import data
from flare_transformer import detection
from flare_transformer import metrics
from flare_transformer import model as model_lib
from flare_transformer import stella
from flare_transformer import training


def window_report(labels, probs, split: dict) -> dict:
  """Window-level metrics with the energy and multiple-flare breakdowns."""
  report = {"all": metrics.binary_metrics(labels, probs)}
  real = split["synthetic"] == 0
  report["real_only"] = metrics.binary_metrics(labels[real], probs[real])
  flare = (labels == 1) & np.isfinite(split["ed"])
  if flare.any():
    cut = float(np.percentile(split["ed"][flare], 100 / 3))
    low = flare & (split["ed"] <= cut)
    rest = flare & (split["ed"] > cut)
    report["low_energy_ed_max_s"] = cut
    report["recall_low_energy"] = float(np.mean(probs[low] >= 0.5)) if low.any() else None
    report["recall_rest"] = float(np.mean(probs[rest] >= 0.5)) if rest.any() else None
  multiple = (labels == 1) & (split["n_flares"] >= 2)
  if multiple.any():
    subset = multiple | (labels == 0)
    report["f1_multiple"] = metrics.binary_metrics(labels[subset], probs[subset])["f1"]
    report["multiple_windows"] = int(multiple.sum())
  return report


def stella_window_probabilities(stella_curves: dict, split: dict) -> np.ndarray:
  """Max stella per-cadence probability inside each window (NaN when it gives none there)."""
  out = np.full(len(split["y"]), np.nan)
  for i, (tic, t0, t1) in enumerate(zip(split["tic"], split["t_start"], split["t_end"])):
    if int(tic) in stella_curves:
      time, probability = stella_curves[int(tic)]
      inside = (time >= t0) & (time <= t1) & np.isfinite(probability)
      if inside.any():
        out[i] = probability[inside].max()
  return out


def evaluate(config: dict, models: dict, stella_path: str | None = None,
             event_catalog: str | None = None, stride: int = 10) -> dict:
  """{"windows": {name: report}, "events": {name: {tic: metrics}}, "splits": ...}."""
  windows = training.load_windows(config)
  test = windows["test"]
  split_of = {int(t): s for s, w in windows.items() for t in set(w["tic"])}
  event_catalog, peaks = data.event_peaks(config["data"], event_catalog)
  files = data.light_curves(config["data"])
  event_stars = sorted(t for t in files if split_of.get(t) in ("val", "test") or t in peaks)
  results = {"windows": {}, "events": {}, "event_catalog": event_catalog,
             "splits": {s: sorted(int(t) for t in set(w["tic"])) for s, w in windows.items()}}
  for name, path in models.items():
    model = path if hasattr(path, "predict") else model_lib.load_model(
        detection.resolve_model_path(path))
    probs = training.predict_probabilities(model, test["x"])
    results["windows"][name] = window_report(test["y"], probs, test)
    results["events"][name] = {}
    for tic in event_stars:
      _, found = detection.detect(model, files[tic], 0.5, stride)
      results["events"][name][tic] = dict(
          metrics.event_metrics(found, peaks.get(tic, [])), split=split_of.get(tic))
    logging.info("%s: test F1 %.3f", name, results["windows"][name]["all"]["f1"])
  if stella_path:
    ensemble = stella.load_stella_ensemble(stella_path)
    curves = {}
    results["events"]["stella"] = {}
    for tic in sorted(set(int(t) for t in test["tic"]) | set(event_stars)):
      time, flux = stella.stella_light_curve(files[tic].path)
      probability = stella.predict_light_curve(ensemble, time, flux)
      curves[tic] = (time, probability)
      if tic in event_stars:
        found = metrics.intervals(time, probability, 0.5, join=3, flux=flux)
        results["events"]["stella"][tic] = dict(
            metrics.event_metrics(found, peaks.get(tic, [])), split=split_of.get(tic))
    real = test["synthetic"] == 0
    stella_probs = stella_window_probabilities(curves, test)
    scored = real & np.isfinite(stella_probs)
    results["windows"]["stella"] = {
        "real_only": metrics.binary_metrics(test["y"][scored], stella_probs[scored]),
        "unscored_real_windows": int(np.sum(real & ~np.isfinite(stella_probs)))}
  for name, per_star in results["events"].items():
    held_out = [m for m in per_star.values() if m["split"] in ("val", "test")]
    total = {k: int(sum(m[k] for m in held_out)) for k in ("catalog_flares", "recovered",
                                                          "detections",
                                                          "false_or_uncatalogued")}
    total["recall"] = total["recovered"] / total["catalog_flares"] if total[
        "catalog_flares"] else float("nan")
    total["precision"] = (1 - total["false_or_uncatalogued"] / total["detections"]
                          if total["detections"] else float("nan"))
    results.setdefault("events_held_out", {})[name] = total
  return results


def _fmt(value) -> str:
  if value is None or (isinstance(value, float) and not np.isfinite(value)):
    return "-"
  return "{:.3f}".format(value) if isinstance(value, float) else str(value)


def markdown(results: dict) -> str:
  """Tables of the results beside the thesis' figures."""
  lines = ["| model | F1 | precision | recall | ROC-AUC | recall low-energy | recall rest | "
           "F1 multiple-flare | real windows: F1 / P / R / AUC |", "|---|---|---|---|---|---|---|---|---|"]
  for name, r in results["windows"].items():
    a = r.get("all", {})
    real = r["real_only"]
    lines.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} / {} / {} / {} |".format(
        name, _fmt(a.get("f1")), _fmt(a.get("precision")), _fmt(a.get("recall")),
        _fmt(a.get("roc_auc")), _fmt(r.get("recall_low_energy")), _fmt(r.get("recall_rest")),
        _fmt(r.get("f1_multiple")), _fmt(real["f1"]), _fmt(real["precision"]),
        _fmt(real["recall"]), _fmt(real["roc_auc"])))
  lines += ["| thesis transformer | 0.83 | 0.81 | 0.86 | 0.93 | 0.77 | - | 0.85 | - |",
            "| thesis CNN | 0.82 | 0.79 | 0.85 | 0.91 | 0.70 | - | 0.77 | - |", "",
            "Event level (catalogued flares recovered / detections that match no catalogued "
            "flare), per real star:", "",
            "| model | " + " | ".join("TIC {} ({})".format(
                t, next(iter(results["events"].values()))[t]["split"])
                for t in next(iter(results["events"].values()))) + " | held-out total: recall / "
            "precision |",
            "|---|" + "---|" * (len(next(iter(results["events"].values()))) + 1)]
  for name, per_star in results["events"].items():
    total = results["events_held_out"][name]
    lines.append("| {} | {} | {} / {} |".format(name, " | ".join(
        "{}/{} found, {} false".format(m["recovered"], m["catalog_flares"],
                                       m["false_or_uncatalogued"]) for m in per_star.values()),
        _fmt(total["recall"]), _fmt(total["precision"])))
  return "\n".join(lines) + "\n"
