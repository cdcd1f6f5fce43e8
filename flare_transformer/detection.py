r"""Flare detection along a whole light curve: per-cadence probability, merged intervals.

The library behind `python -m flare_transformer.predict` and the event-level
scores of flare_transformer.evaluate. Windows of the model's length slide over the light curve every `--stride`
cadences; a cadence's probability is the mean over the windows that contain
it (a flare anywhere in a window makes it fire, so the mean peaks where every
covering window holds the flare). Cadences above `--threshold` are merged into
intervals (joined across <= 3 cadences); the CSV has columns
start_time,end_time,peak_time,max_probability (BTJD days; peak = brightest
cadence inside).
"""

from __future__ import annotations

import csv
import glob
import os

import numpy as np

from flare_transformer import data
from flare_transformer import metrics
from tf_util import atomic_io
from tf_util import errors


def cadence_probabilities(model, lc: data.LightCurve, stride: int = 10,
                          batch_size: int = 512) -> np.ndarray:
  """Per-cadence flare probability (NaN where no window reaches), see module docstring."""
  window = int(model.input_shape[1])
  if len(lc.time) < window:
    raise ValueError("{}: {} cadences, shorter than the model's {}-cadence window".format(
        lc.path or lc.tic, len(lc.time), window))
  starts = data.window_starts(len(lc.time), window, stride)
  if starts[-1] != len(lc.time) - window:  # cover the end too
    starts = np.append(starts, len(lc.time) - window)
  windows = data.window_features(lc.flux, lc.quality, lc.noise, starts, window)
  probs = model.predict(windows, batch_size=batch_size, verbose=0)[:, 0].astype(np.float64)
  total = np.zeros(len(lc.time))
  count = np.zeros(len(lc.time))
  for start, p in zip(starts, probs):
    total[start:start + window] += p
    count[start:start + window] += 1
  with np.errstate(invalid="ignore"):
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def detect(model, lc, threshold: float = 0.5, stride: int = 10):
  """(per-cadence probability, merged intervals) of one light curve.

  Args:
    lc: A data.LightCurve (data.read_light_curve), or a lightkurve TESS light
      curve (data.light_curve_from_lightkurve; read it with
      quality_bitmask="none" to keep flagged cadences as the FITS reader does).
  """
  if not isinstance(lc, data.LightCurve):
    lc = data.light_curve_from_lightkurve(lc)
  probability = cadence_probabilities(model, lc, stride)
  return probability, metrics.intervals(lc.time, probability, threshold, flux=lc.flux)


CSV_COLUMNS = ("start_time", "end_time", "peak_time", "max_probability")


def _format(value) -> str:
  if isinstance(value, str):
    return value
  if isinstance(value, float) and not np.isfinite(value):
    return "nan"
  return "{:.6g}".format(value) if abs(value) < 1e3 or abs(value) >= 1e6 else "{:.6f}".format(
      value)


def write_csv(intervals: list[dict], path: str, extra_columns=None) -> None:
  """The intervals as CSV: the four original columns (same format), then
  `extra_columns` (default: any other keys the intervals carry)."""
  extra = list(extra_columns) if extra_columns is not None else [
      k for k in (intervals[0] if intervals else {}) if k not in CSV_COLUMNS]
  with atomic_io.atomic_open(path) as f:
    writer = csv.writer(f)
    writer.writerow(list(CSV_COLUMNS) + extra)
    for i in intervals:
      writer.writerow(["{:.6f}".format(i["start_time"]), "{:.6f}".format(i["end_time"]),
                       "{:.6f}".format(i["peak_time"]), "{:.4f}".format(i["max_probability"])]
                      + [_format(i[k]) for k in extra])


def sidecar_path(csv_path: str) -> str:
  """flares.csv -> flares.json: units, star and observed time of a flare CSV."""
  return os.path.splitext(csv_path)[0] + ".json"


def write_sidecar(csv_path: str, lc: data.LightCurve, units: dict) -> str:
  """The JSON beside a flare CSV: units of its columns, the star, and the observed
  (unflagged) time in days that flare rates are per."""
  path = sidecar_path(csv_path)
  atomic_io.write_json(path, {
      "units": units, "tic": lc.tic, "sector": lc.sector, "light_curve": lc.path,
      "observed_days": float((~lc.quality).sum() * data.CADENCE_DAYS)})
  return path


def plot(lc: data.LightCurve, probability: np.ndarray, intervals: list[dict], path: str,
         threshold: float = 0.5, catalog_peaks=None) -> None:
  """The light curve and p(flare) against time (BTJD) with the detected intervals shaded
  and numbered as in the CSV (1 = its first row); catalog_peaks (BTJD days), when given,
  are marked: green when a detection covers them, red when none does."""
  import matplotlib  # noqa: PLC0415  (plotting only)
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # noqa: PLC0415  (plotting only)
  fig, axes = plt.subplots(2, 1, figsize=(12, 6), sharex=True)
  axes[0].plot(lc.time, lc.flux, "k.", ms=1)
  # Above the data: catalogue marks, then the detections' numbers.
  top = float(np.nanmax(lc.flux)) if len(lc.flux) else 1.0
  span = top - (float(np.nanmin(lc.flux)) if len(lc.flux) else 0.0) or 1.0
  axes[0].set_ylim(top - 1.05 * span, top + 0.3 * span)
  for number, i in enumerate(intervals, start=1):
    for ax in axes:
      ax.axvspan(i["start_time"], i["end_time"], color="orange", alpha=0.3)
    axes[0].text(i["peak_time"], top + 0.2 * span, str(number), ha="center", va="bottom",
                 fontsize=8, color="darkorange")
  title = "TIC {} sector {}: {} flare interval(s)".format(lc.tic, lc.sector, len(intervals))
  if catalog_peaks is not None and len(catalog_peaks):
    peaks = np.asarray(catalog_peaks, np.float64)
    found = np.array([any(i["start_time"] - metrics.HALF_CADENCE <= p <=
                          i["end_time"] + metrics.HALF_CADENCE for i in intervals)
                      for p in peaks])
    for mask, colour, label in ((found, "green", "catalogued, detected"),
                                (~found, "red", "catalogued, missed")):
      if mask.any():
        axes[0].plot(peaks[mask], np.full(mask.sum(), top + 0.08 * span), "v", color=colour, ms=6,
                     label=label)
    axes[0].legend(loc="center left", fontsize=8, framealpha=0.8)
    title += "; {}/{} catalogued flares detected".format(int(found.sum()), len(peaks))
  axes[0].set_ylabel("relative flux")
  axes[0].set_title(title)
  axes[1].plot(lc.time, probability, "b-", lw=0.8)
  axes[1].axhline(threshold, color="r", ls="--", lw=0.8)
  axes[1].set_ylabel("p(flare)")
  axes[1].set_xlabel("time (BTJD)")
  fig.tight_layout()
  with atomic_io.atomic_path(path) as tmp:
    fig.savefig(tmp, dpi=90)
  plt.close(fig)


def resolve_model_path(path: str) -> str:
  """A .keras flare model, or the best_model.keras of a training run directory."""

  if os.path.isdir(path):
    found = sorted(glob.glob(os.path.join(path, "**", "best_model.keras"), recursive=True))
    if not found:
      raise errors.CheckpointError("No best_model.keras under {}: not a flare training run "
                                   "directory".format(path))
    return found[0]
  return path
