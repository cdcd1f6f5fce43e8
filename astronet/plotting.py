"""Figures of light curves and views (matplotlib, headless Agg backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

from tf_util import atomic_io


def save_figure(fig, output_file: str) -> None:
  """Writes the figure atomically (temp file + rename)."""
  try:
    with atomic_io.atomic_path(output_file) as tmp:
      fig.savefig(tmp, dpi=110)
  finally:
    plt.close(fig)


HOURS_PER_DAY = 24.0


def view_axes(mission, period: float, duration: float) -> tuple[np.ndarray, np.ndarray]:
  """(global-view bin centres as a fraction of the period, local-view bin
  centres in hours from transit) of a `missions.Mission`'s views."""
  return (mission.global_view.bin_centres(period, duration) / period,
          mission.local_view.bin_centres(period, duration) * HOURS_PER_DAY)


def plot_views(global_view: np.ndarray, local_view: np.ndarray, title: str,
               output_file: str, axes: tuple[np.ndarray, np.ndarray] | None = None) -> None:
  """Side-by-side plot of a global and a local view.

  Normalised flux against `axes` (`view_axes`: phase, hours from transit) when
  given, against the bin index otherwise (records without the TCE's period).
  """
  fig, plots = plt.subplots(1, 2, figsize=(12, 4))
  labels = (("phase (fraction of the period)", "hours from transit") if axes is not None
            else ("bin", "bin"))
  for ax, view, name, x, label in zip(plots, (global_view, local_view),
                                      ("global view", "local view"),
                                      axes or (None, None), labels):
    if x is None:
      ax.plot(view, ".", markersize=3)
    else:
      ax.plot(x, view, ".", markersize=3)
    ax.set_title("{} ({} bins)".format(name, len(view)))
    ax.set_xlabel(label)
    ax.set_ylabel("normalised flux")
  fig.suptitle(title)
  fig.tight_layout()
  save_figure(fig, output_file)


def _plot_views_item(item) -> str:
  plot_views(*item)
  return item[3]


def plot_views_many(items, processes: int = 1) -> int:
  """plot_views for each (global_view, local_view, title, output_file), in `processes`
  spawned workers (they import only matplotlib and numpy); returns the count."""
  items = list(items)
  if processes <= 1 or len(items) < 2 * processes:
    for item in items:
      _plot_views_item(item)
    return len(items)
  import multiprocessing  # noqa: PLC0415  (only parallel plotting needs it)
  # spawn, not fork: the parent holds TensorFlow's threads.
  with multiprocessing.get_context("spawn").Pool(processes) as pool:
    for _ in pool.imap_unordered(_plot_views_item, items, chunksize=16):
      pass
  return len(items)


def plot_detrending(time: np.ndarray, raw_flux: np.ndarray,
                    detrended_time: np.ndarray, detrended_flux: np.ndarray,
                    title: str, output_file: str) -> None:
  """Raw light curve above, spline-detrended light curve below (time in days)."""
  fig, axes = plt.subplots(2, 1, figsize=(12, 6), sharex=True)
  axes[0].plot(time, raw_flux, ".", markersize=1)
  axes[0].set_ylabel("PDCSAP flux (e-/s)")
  axes[1].plot(detrended_time, detrended_flux, ".", markersize=1)
  axes[1].set_ylabel("flux / spline")
  axes[1].set_xlabel("time (days)")
  fig.suptitle(title)
  fig.tight_layout()
  save_figure(fig, output_file)
