"""A one-page vetting report per TCE (predict.py --report, batch_predict.py --report_dir).

Panels: the whole processed light curve with each transit marked; the light
curve folded on the period (hours from transit); the global view (fraction of
the period) and local view (hours from transit) on their phase axes, as the
model sees them; the odd and even transits' local views side by side; the
secondary-eclipse window (phase 0.5); the probability with the ensemble
members' spread. The title gives the star, sector(s), period, depth and
duration. Depth is the median out-of-transit minus the median in-transit
relative flux (ppm), from the processed light curve.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from astronet import missions
from astronet import plotting
from light_curve_util import views as views_lib
from tf_util import errors

HOURS = plotting.HOURS_PER_DAY


@dataclasses.dataclass
class Tce:
  """What the report says about one TCE (times in days, t0 in BKJD / BTJD)."""
  star_id: int
  period: float
  t0: float
  duration: float
  sectors: Sequence[int] = ()
  label: str = ""


def _view_or_none(time, flux, period, duration, config, t0):
  try:
    folded, values = views_lib.phase_fold_and_sort_light_curve(time, flux, period, t0)
    return views_lib.view_from_config(folded, values, period, duration, config)
  except (errors.AstronetError, ValueError, FloatingPointError):
    return None  # Too few points (odd / even halves of a short light curve).


def odd_even_views(time, flux, tce: Tce, config: views_lib.ViewConfig):
  """(odd, even) local views (None where too sparse): transits numbered from t0."""
  number = np.round((time - tce.t0) / tce.period).astype(np.int64)
  return tuple(_view_or_none(time[number % 2 == parity], flux[number % 2 == parity],
                             tce.period, tce.duration, config, tce.t0) for parity in (1, 0))


def depth_ppm(time, flux, tce: Tce) -> float:
  """Median out-of-transit minus median in-transit flux (ppm); NaN without both."""
  folded = np.abs(np.mod(time - tce.t0 + tce.period / 2, tce.period) - tce.period / 2)
  inside, outside = folded < tce.duration / 2, folded > tce.duration
  if not inside.any() or not outside.any():
    return float("nan")
  return float((np.median(flux[outside]) - np.median(flux[inside])) * 1e6)


def render(time: np.ndarray, flux: np.ndarray, tce: Tce, mission: missions.Mission,
           probabilities: Sequence[float], output_file: str) -> dict:
  """Writes the report (.png or .pdf) of one TCE; returns what it shows.

  Args:
    time, flux: The processed light curve (days, relative flux), as for the views.
    probabilities: Each ensemble member's probability (one for a single model).

  Returns:
    {"probability", "spread", "depth_ppm", "views"} of the report.
  """
  if not output_file.endswith((".png", ".pdf")):
    raise errors.OutputError("A report is a .png or .pdf file, not {}".format(output_file),
                             output_file)
  plt = plotting.plt
  folded, values = views_lib.phase_fold_and_sort_light_curve(time, flux, tce.period, tce.t0)
  global_view = views_lib.view_from_config(folded, values, tce.period, tce.duration,
                                           mission.global_view)
  local_view = views_lib.view_from_config(folded, values, tce.period, tce.duration,
                                          mission.local_view)
  # Not normalised: odd / even depths and a secondary eclipse are compared in ppm.
  raw_local = dataclasses.replace(mission.local_view, normalize=False, reject_sparse=False)
  odd, even = odd_even_views(time, flux, tce, raw_local)
  secondary = _view_or_none(time, flux, tce.period, tce.duration, raw_local,
                            tce.t0 + tce.period / 2)
  probabilities = np.asarray(probabilities, np.float64)
  probability, spread = float(probabilities.mean()), float(probabilities.std())
  depth = depth_ppm(time, flux, tce)
  global_phase, local_hours = plotting.view_axes(mission, tce.period, tce.duration)

  fig = plt.figure(figsize=(13, 11))
  grid = fig.add_gridspec(4, 3, height_ratios=[1, 1, 1, 1])
  ax = fig.add_subplot(grid[0, :])
  ax.plot(time, flux, ".", markersize=1, color="0.3")
  transits = tce.t0 + tce.period * np.arange(np.ceil((time.min() - tce.t0) / tce.period),
                                             np.floor((time.max() - tce.t0) / tce.period) + 1)
  for t in transits:
    ax.axvline(t, color="tab:red", alpha=0.4, linewidth=0.8)
  ax.set(xlabel="time ({})".format("BTJD" if mission.has_sectors else "BKJD"),
         ylabel="relative flux", title="light curve, {} transit(s) marked".format(
             len(transits)))

  ax = fig.add_subplot(grid[1, :2])
  ax.plot(folded * HOURS, values, ".", markersize=1, color="0.3")
  ax.set(xlabel="hours from transit", ylabel="relative flux",
         title="folded on P = {:.5f} d".format(tce.period))
  ax = fig.add_subplot(grid[1, 2])
  ax.bar(np.arange(len(probabilities)) + 1, probabilities, color="tab:blue")
  ax.axhline(probability, color="tab:red", label="mean {:.3f} ± {:.3f}".format(
      probability, spread))
  ax.set(ylim=(0, 1), xlabel="ensemble member", ylabel="probability", title="prediction",
         xticks=np.arange(len(probabilities)) + 1)
  ax.legend(loc="lower right", fontsize=8)

  ax = fig.add_subplot(grid[2, :2])
  ax.plot(global_phase, global_view, ".", markersize=3)
  ax.set(xlabel="phase (fraction of the period)", ylabel="normalised flux",
         title="global view ({} bins)".format(mission.global_view.num_bins))
  ax = fig.add_subplot(grid[2, 2])
  ax.plot(local_hours, local_view, ".-", markersize=3)
  ax.set(xlabel="hours from transit", ylabel="normalised flux",
         title="local view ({} bins)".format(mission.local_view.num_bins))

  shown = [v for v in (odd, even, secondary) if v is not None]
  low = min([float(np.min(v)) for v in shown] or [1.0])
  high = max([float(np.max(v)) for v in shown] or [1.0])
  margin = 0.05 * max(high - low, 1e-6)
  for column, (view, name) in enumerate(((odd, "odd transits"), (even, "even transits"),
                                         (secondary, "secondary eclipse (phase 0.5)"))):
    ax = fig.add_subplot(grid[3, column])
    if view is None:
      ax.text(0.5, 0.5, "too few points", ha="center", va="center", transform=ax.transAxes)
    else:
      ax.plot(local_hours, (view - 1) * 1e6, ".-", markersize=3,
              color=("tab:green", "tab:purple", "tab:orange")[column])
      inside = np.abs(local_hours) < tce.duration * HOURS / 2
      ax.set_title("{}: depth {:.0f} ppm".format(name, (np.median(view[~inside]) - np.median(
          view[inside])) * 1e6 if inside.any() else float("nan")))
    # One scale for the three, so that unequal depths show.
    ax.set(xlabel="hours from {}".format("phase 0.5" if column == 2 else "transit"),
           ylabel="relative flux - 1 (ppm)",
           ylim=((low - 1) * 1e6 - margin * 1e6, (high - 1) * 1e6 + margin * 1e6))
  sectors = ", ".join(str(s) for s in tce.sectors)
  fig.suptitle("{} {}{}{}: P = {:.4f} d, depth {:.0f} ppm, duration {:.2f} h, p = {:.3f}".format(
      mission.star_prefix, tce.star_id, " sector(s) {}".format(sectors) if sectors else "",
      " ({})".format(tce.label) if tce.label else "", tce.period, depth,
      tce.duration * HOURS, probability), fontsize=12)
  fig.tight_layout()
  plotting.save_figure(fig, output_file)
  return {"probability": probability, "spread": spread, "depth_ppm": depth,
          "views": {"global_view": global_view, "local_view": local_view, "odd": odd,
                    "even": even, "secondary": secondary}}
