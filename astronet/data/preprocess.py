"""Reading and preprocessing light curves into Astronet views.

Ports exoplanet-ml `astronet/data/preprocess.py` (Kepler) and Astronet-Triage
`astronet/data/preprocess.py` (TESS) as one path parameterised by `Mission`:

* Kepler: read PDCSAP_FLUX from FITS, split at gaps > 0.75 d, divide by the
  best-BIC Kepler spline.
* TESS: read the best-aperture KSPMagnitude from h5 (QFLAG == 0), clip
  brightenings beyond 5 normalised MADs below the median, convert magnitudes
  to relative flux 10**(-(mag - median) / 2.5). No spline.

Then both fold on (period, t0), sort, and bin the views of their `ViewConfig`s.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from light_curve_util import kepler_io
from light_curve_util import tess_io
from light_curve_util import util
from light_curve_util import views
from light_curve_util.views import phase_fold_and_sort_light_curve  # pylint: disable=unused-import
from third_party.kepler_spline import kepler_spline
from tf_util import errors

logger = logging.getLogger(__name__)

# statsmodels.robust.scale.mad normalisation: MAD / Phi^-1(3/4).
_NORMAL_MAD_SCALE = 0.6744897501960817
_TESS_MAD_CLIP = 5.0


@dataclasses.dataclass(frozen=True)
class Mission:
  """What differs between the Kepler and TESS pipelines.

  Attributes:
    name: "kepler" or "tess".
    global_view: `ViewConfig` of the global view.
    local_view: `ViewConfig` of the local view.
  """
  name: str
  global_view: views.ViewConfig
  local_view: views.ViewConfig


KEPLER = Mission("kepler", views.KEPLER_GLOBAL_VIEW, views.KEPLER_LOCAL_VIEW)
TESS = Mission("tess", views.TESS_GLOBAL_VIEW, views.TESS_LOCAL_VIEW)
MISSIONS = {m.name: m for m in (KEPLER, TESS)}


def get_mission(name: str) -> Mission:
  """Returns the `Mission` called name ("kepler" or "tess")."""
  try:
    return MISSIONS[name]
  except KeyError:
    raise ValueError("Unknown mission {!r}; expected one of {}".format(
        name, sorted(MISSIONS))) from None


def read_light_curve(kepid, kepler_data_dir: str):
  """Reads the Kepler light curve of `kepid`, one (time, flux) pair per file.

  Raises:
    LightCurveFileError: No file for this Kepler id, or an unreadable file.
  """
  file_names = kepler_io.kepler_filenames(kepler_data_dir, kepid)
  if not file_names:
    raise errors.LightCurveFileError(
        "Failed to find .fits files in {} for Kepler ID {}".format(
            kepler_data_dir, kepid), kepler_data_dir)
  return kepler_io.read_kepler_light_curve(file_names)


def process_light_curve(all_time, all_flux, gap_width: float = 0.75):
  """Removes low-frequency variability by dividing by the Kepler spline.

  Points where no spline could be fit are dropped. Flux is divided in place in
  its own dtype (float32 from FITS), as the original did.

  Args:
    all_time: List of time arrays (days).
    all_flux: List of flux arrays.
    gap_width: Split at gaps wider than this (days).

  Returns:
    time, flux: 1D arrays of the flattened light curve.

  Raises:
    EmptyLightCurveError: No segment could be fit.
  """
  all_time, all_flux = util.split(all_time, all_flux, gap_width=gap_width)
  spline, metadata = kepler_spline.fit_kepler_spline(
      all_time, all_flux, verbose=False)
  for failure in metadata.failed_segments:
    logger.warning("Spline segment %d skipped at bkspace %.4g: %s",
                   failure.segment_index, failure.bkspace, failure.message)
  if not all_time:
    raise errors.EmptyLightCurveError("Cannot detrend an empty light curve")
  time = np.concatenate(all_time)
  flux = np.concatenate(all_flux)
  spline = np.concatenate(spline)

  # The spline is NaN where it could not be fit; those points are dropped.
  finite = np.isfinite(spline)
  if not np.any(finite):
    raise errors.EmptyLightCurveError(
        "No spline could be fit to any of the {} segments ({} points)".format(
            len(all_time), len(time)))
  if not np.all(finite):
    time, flux, spline = time[finite], flux[finite], spline[finite]
  flux /= spline
  return time, flux


def tess_light_curve_file(tic, tess_data_dir: str, sector: int) -> str:
  """Path of the h5 light curve of `tic` in `sector`.

  Raises:
    LightCurveFileError: The file does not exist.
  """
  filename = tess_io.tess_filenames(tic, tess_data_dir, sector=sector)
  if filename is None:
    raise errors.LightCurveFileError(
        "Failed to find light curve file {} for TIC ID {}".format(
            tess_io.tess_filenames(
                tic, tess_data_dir, sector=sector, check_existence=False), tic),
        tess_data_dir)
  return filename


def process_tess_light_curve(time: np.ndarray, mag: np.ndarray,
                             filename: str = "light curve"):
  """Clips brightenings and converts magnitudes to relative flux.

  Keeps mag > median(mag) - 5 * MAD (MAD normalised to a Gaussian sigma), then
  flux = 10**(-(mag - median(mag)) / 2.5) with the median of the kept points.

  Raises:
    EmptyLightCurveError: No points.
  """
  if len(mag) < 1:
    raise errors.EmptyLightCurveError(
        "Empty light curve (no finite QFLAG == 0 points) in {}".format(filename))
  median = np.median(mag)
  mad = np.median(np.abs(mag - median)) / _NORMAL_MAD_SCALE
  keep = mag > median - _TESS_MAD_CLIP * mad
  mag, time = mag[keep], time[keep]
  flux = 10.**(-(mag - np.median(mag)) / 2.5)
  return time, flux


def read_and_process_light_curve(tic, tess_data_dir: str, sector: int = 1):
  """Reads a Triage h5 light curve and converts it to relative flux.

  Returns:
    time, flux: 1D float64 arrays (BTJD days, relative flux).
  """
  filename = tess_light_curve_file(tic, tess_data_dir, sector)
  time, mag = tess_io.read_tess_light_curve(filename)
  return process_tess_light_curve(time, mag, filename)


def generate_views(time: np.ndarray, flux: np.ndarray, period: float, t0: float,
                   duration: float, mission: Mission = KEPLER,
                   name: str = "TCE") -> dict[str, np.ndarray]:
  """Folds a processed light curve and bins the mission's two views.

  Args:
    time: Times (days).
    flux: Processed flux.
    period: Period (days).
    t0: Event centre (same time system as `time`).
    duration: Duration (days).
    mission: `KEPLER` or `TESS`.
    name: TCE name used in error messages.

  Returns:
    {"global_view": float64 [num_bins], "local_view": float64 [num_bins]}.
  """
  views.check_tce(period, duration, name)
  folded_time, folded_flux = phase_fold_and_sort_light_curve(
      time, flux, period, t0)
  return {
      "global_view": views.view_from_config(folded_time, folded_flux, period,
                                            duration, mission.global_view),
      "local_view": views.view_from_config(folded_time, folded_flux, period,
                                           duration, mission.local_view),
  }


def global_view(time, flux, period, num_bins=2001, bin_width_factor=1 / 2001):
  """Kepler global view (original signature); see `views.global_view`."""
  return views.global_view(time, flux, period, num_bins, bin_width_factor)


def local_view(time, flux, period, duration, num_bins=201,
               bin_width_factor=0.16, num_durations=4):
  """Kepler local view (original signature); see `views.local_view`."""
  return views.local_view(time, flux, period, duration, num_bins,
                          bin_width_factor, num_durations)
