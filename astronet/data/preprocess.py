"""Reading and preprocessing light curves into Astronet views.

Ports exoplanet-ml `astronet/data/preprocess.py` (Kepler) and Astronet-Triage
`astronet/data/preprocess.py` (TESS) as one path parameterised by `Mission`:

* Kepler: read PDCSAP_FLUX from FITS, split at gaps > 0.75 d, divide by the
  best-BIC Kepler spline.
* TESS: read the best-aperture KSPMagnitude from h5 (QFLAG == 0), clip
  brightenings beyond 5 normalised MADs below the median, convert magnitudes
  to relative flux 10**(-(mag - median) / 2.5). No spline.

Then both fold on (period, t0), sort, and bin the views of their `ViewConfig`s.

A star with several TCEs is read and detrended once per process: the processed
light curve of the last few stars is kept (`read_and_process_tce(...,
use_cache=True)`, read-only arrays), since the spline is ~97% of a Kepler
TCE's cost and does not depend on the TCE.
"""

from __future__ import annotations

import functools
import logging
import os

import numpy as np

from astronet.missions import KEPLER
from astronet.missions import Mission
from light_curve_util import kepler_io
from light_curve_util import tess_io
from light_curve_util import transit_model
from light_curve_util import util
from light_curve_util import views
from light_curve_util.views import phase_fold_and_sort_light_curve  # pylint: disable=unused-import
from tf_util import errors
from third_party.kepler_spline import kepler_spline

logger = logging.getLogger(__name__)

# statsmodels.robust.scale.mad normalisation: MAD / Phi^-1(3/4).
_NORMAL_MAD_SCALE = 0.6744897501960817
_TESS_MAD_CLIP = 5.0
# Processed light curves kept per process (Kepler: ~70k points x 16 bytes each).
STAR_CACHE_SIZE = 8
# Start (BTJD) of TESS sectors 2-5, used by Triage to keep only the latest
# sector of a multi-sector light curve.
TESS_SECTOR_START_BTJD = {
    2: 1354.10475587519,
    3: 1381.70892156158,
    4: 1410.91724195171,
    5: 1437.97973532546,
}


def _kepler_star_dir(kepid, kepler_data_dir: str) -> str:
  kepid = "{:09d}".format(int(kepid))
  return os.path.join(kepler_data_dir, kepid[0:4], kepid)


def read_light_curve(kepid, kepler_data_dir: str):
  """Reads the Kepler light curve of `kepid`, one (time, flux) pair per file.

  Raises:
    LightCurveFileError: No file for this Kepler id, or an unreadable file.
  """
  file_names = kepler_io.kepler_filenames(kepler_data_dir, kepid)
  if not file_names:
    star_dir = _kepler_star_dir(kepid, kepler_data_dir)
    raise errors.LightCurveFileError(
        "Failed to find .fits files in {} for Kepler ID {}".format(
            star_dir, kepid), star_dir)
  return kepler_io.read_kepler_light_curve(file_names)


def process_light_curve(all_time, all_flux, gap_width: float = 0.75,
                        spline_backend: str = "numpy"):
  """Removes low-frequency variability by dividing by the Kepler spline.

  Points where no spline could be fit are dropped. Flux is divided in place in
  its own dtype (float32 from FITS), as the original did.

  Args:
    all_time: List of time arrays (days).
    all_flux: List of flux arrays.
    gap_width: Split at gaps wider than this (days).
    spline_backend: "numpy" (vectorised) or "pydl" (the original's fitter);
      see `kepler_spline.kepler_spline`.

  Returns:
    time, flux: 1D arrays of the flattened light curve.

  Raises:
    EmptyLightCurveError: No segment could be fit.
  """
  all_time, all_flux = util.split(all_time, all_flux, gap_width=gap_width)
  spline, metadata = kepler_spline.fit_kepler_spline(
      all_time, all_flux, verbose=False, backend=spline_backend)
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
    expected = tess_io.tess_filenames(tic, tess_data_dir, sector=sector,
                                      check_existence=False)
    raise errors.LightCurveFileError(
        "Failed to find light curve file {} for TIC ID {}".format(expected, tic),
        expected)
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


def trim_to_sector(time: np.ndarray, flux: np.ndarray, sector: int,
                   name: str = "TCE"):
  """Keeps the points of a cumulative TESS light curve from `sector` onwards.

  Sectors without a known start time are returned whole (logged).
  """
  start = TESS_SECTOR_START_BTJD.get(int(sector))
  if start is None:
    if int(sector) > 1:
      logger.warning("%s: no start time known for sector %s; keeping the whole "
                     "multi-sector light curve", name, sector)
    return time, flux
  keep = time >= start
  return time[keep], flux[keep]


def _read_kepler_fits(mission, data_dir: str, star_id, sector, injection, spline_backend):
  del mission, sector
  all_time, all_flux = read_light_curve(star_id, data_dir)
  if injection is not None:
    all_flux = [transit_model.inject_into_flux(t, f, injection)
                for t, f in zip(all_time, all_flux)]
  return process_light_curve(all_time, all_flux, spline_backend=spline_backend)


def tess_light_curve(mission: Mission, data_dir: str, star_id, sector: int):
  """(path, format, time, magnitude) of one TESS light curve in the mission's format.

  FITS flux (SPOC, cadences with a bit of tess_io.SPOC_DEFAULT_BITMASK dropped;
  QLP, QUALITY != 0 dropped) is brought to the Triage representation, magnitude
  = -2.5 log10(flux) (non-positive flux dropped), so that the one Triage rule
  (`process_tess_light_curve`) processes every format: a FITS file holding a
  Triage h5's photometry gives its views.

  Raises:
    LightCurveFileError: No such file (the message names where it looked).
  """
  fmt = mission.tess_format
  path, found = tess_io.find_light_curve(star_id, data_dir, sector, fmt)
  if path is None:
    expected = tess_io.expected_location(star_id, data_dir, sector, fmt)
    raise errors.LightCurveFileError(
        "Failed to find light curve file {} for TIC ID {}".format(expected, star_id),
        expected.split(" or ")[0])
  if found == "h5":
    time, mag = tess_io.read_tess_light_curve(path)
    return path, found, time, mag
  time, flux, _ = tess_io.read_tess_fits_light_curve(
      path, found, mission.flux_column, tess_io.DEFAULT_BITMASKS[found])
  flux = np.asarray(flux, np.float64)
  positive = flux > 0
  if not positive.any():
    raise errors.EmptyLightCurveError("{}: no positive {} flux".format(
        path, mission.flux_column or tess_io.FLUX_COLUMNS[found][0]))
  return path, found, np.asarray(time, np.float64)[positive], -2.5 * np.log10(flux[positive])


def stitched_tess_magnitudes(parts) -> tuple[np.ndarray, np.ndarray]:
  """(time, magnitude) of (time, flux) parts (sectors) in time order: each part's
  flux over its own median as Triage magnitudes (per-sector normalisation; gaps kept).

  Raises:
    EmptyLightCurveError: No positive flux in any part.
  """
  times, mags = [], []
  for time, flux in parts:
    flux = np.asarray(flux, np.float64)  # As the FITS reader: magnitudes in float64.
    positive = flux > 0
    if positive.any():
      times.append(np.asarray(time, np.float64)[positive])
      mags.append(-2.5 * np.log10(flux[positive] / np.median(flux[positive])))
  if not times:
    raise errors.EmptyLightCurveError("No positive flux in any light curve")
  order = np.argsort(np.concatenate(times), kind="stable")
  return np.concatenate(times)[order], np.concatenate(mags)[order]


def stitched_tess_light_curve(parts, name: str = "TCE") -> tuple[np.ndarray, np.ndarray]:
  """One processed TESS light curve from (time, flux) parts: stitched_tess_magnitudes,
  then the one Triage rule (process_tess_light_curve)."""
  time, mag = stitched_tess_magnitudes(parts)
  return process_tess_light_curve(time, mag, name)


def all_sectors_light_curve(mission: Mission, data_dir: str, star_id):
  """(files, time, magnitude) of every sector of a TIC's FITS light curves, stitched
  (stitched_tess_magnitudes' per-sector normalisation) — --sectors=all.

  Raises:
    ConfigError: The Triage h5 format (its sector files are cumulative already).
    LightCurveFileError: No FITS file of the TIC.
  """
  fmt = mission.light_curve_format
  if fmt == "triage_h5":
    raise errors.ConfigError("--sectors=all reads FITS light curves; a Triage h5 of a sector "
                             "already holds the earlier sectors (use --sectors=catalog)")
  pipelines = ("spoc", "qlp") if fmt == "auto" else (fmt,)
  for pipeline in pipelines:
    found = tess_io.fits_sectors(star_id, data_dir, pipeline)
    if found:
      parts = []
      for path in found.values():
        time, flux, _ = tess_io.read_tess_fits_light_curve(
            path, pipeline, mission.flux_column, tess_io.DEFAULT_BITMASKS[pipeline])
        parts.append((time, flux))
      time, mag = stitched_tess_magnitudes(parts)
      return list(found.values()), time, mag
  raise errors.LightCurveFileError("No {} FITS light curve of TIC {} in {}".format(
      " or ".join(p.upper() for p in pipelines), star_id, data_dir), data_dir)


def _read_tess(mission, data_dir: str, star_id, sector, injection, spline_backend):
  del spline_backend  # TESS light curves are detrended already (KSP, PDC).
  if mission.sectors == "all":
    files, time, mag = all_sectors_light_curve(mission, data_dir, star_id)
    filename = ", ".join(files)
  else:
    filename, _, time, mag = tess_light_curve(mission, data_dir, star_id, sector)
  if injection is not None:
    mag = transit_model.inject_into_magnitude(time, mag, injection)
  return process_tess_light_curve(time, mag, filename)


# Mission.light_curve_format -> reader(mission, data_dir, star id, sector, injection,
# spline_backend) -> the processed (time, flux) of one star (TESS: one sector).
READERS = {"kepler_fits": _read_kepler_fits, "triage_h5": _read_tess, "spoc": _read_tess,
           "qlp": _read_tess, "auto": _read_tess}


def _read_and_process_star(mission: Mission, data_dir: str, star_id, sector: int | None,
                           injection: transit_model.TransitParams | None,
                           spline_backend: str):
  """The processed light curve of one star (Kepler) or TIC-sector file (TESS)."""
  return READERS[mission.light_curve_format](mission, data_dir, star_id, sector, injection,
                                             spline_backend)


def read_and_process_star(mission: Mission, data_dir: str, star_id, sector: int | None = None,
                          spline_backend: str = "numpy"):
  """(time, flux) of one star's light curve (TESS: of one sector), processed as for
  records, reusing the per-process cache (the arrays are read-only)."""
  return _cached_star(mission, data_dir, star_id, sector, spline_backend)


@functools.lru_cache(maxsize=STAR_CACHE_SIZE)
def _cached_star(mission: Mission, data_dir: str, star_id, sector: int | None,
                 spline_backend: str):
  time, flux = _read_and_process_star(mission, data_dir, star_id, sector, None,
                                      spline_backend)
  # Shared by every TCE of the star: make accidental in-place edits fail loudly.
  time.flags.writeable = False
  flux.flags.writeable = False
  return time, flux


def clear_star_cache() -> None:
  """Forgets the processed light curves kept by `read_and_process_tce`."""
  _cached_star.cache_clear()


def read_and_process_tce(tce, mission: Mission, data_dir: str,
                         trim_multisector: bool = True,
                         injection: transit_model.TransitParams | None = None,
                         spline_backend: str = "numpy",
                         use_cache: bool = True):
  """Reads and processes the light curve of one catalog row.

  Args:
    tce: Mapping with the mission's id column (and, for TESS, Sectors and
      optionally is_multi).
    mission: KEPLER or TESS.
    data_dir: Kepler or Triage TESS base directory.
    trim_multisector: TESS: keep only the TCE's sector of a multi-sector TIC.
    injection: Optional transit injected into the raw light curve (PDCSAP flux
      or KSP magnitudes), before detrending / clipping, as a real one would be.
    spline_backend: Kepler spline fitter, "numpy" or "pydl".
    use_cache: Reuse the processed light curve of a star seen recently in this
      process (never for injections, which differ per row). The arrays
      returned are then read-only.

  Returns:
    time, flux: processed 1D arrays.
  """
  star_id = tce[mission.id_column]
  sector = None if not mission.has_sectors else int(tce[mission.sector_column])
  if not mission.has_sectors:
    star_id = int(star_id)
  if use_cache and injection is None:
    time, flux = _cached_star(mission, data_dir, star_id, sector, spline_backend)
  else:
    time, flux = _read_and_process_star(mission, data_dir, star_id, sector, injection,
                                        spline_backend)
  if not mission.has_sectors:
    return time, flux
  if (trim_multisector and mission.sectors != "all" and bool(tce.get("is_multi", False))
      and sector > 1):
    time, flux = trim_to_sector(time, flux, sector, mission.describe(tce))
    if len(time) == 0:
      raise errors.EmptyLightCurveError(
          "{}: no points left after keeping sector {} only".format(
              mission.describe(tce), sector))
  return time, flux


def light_curve_location(tce, mission: Mission, data_dir: str) -> str:
  """The file (TESS) or directory (Kepler) a catalog row's light curve is read from."""
  if not mission.has_sectors:
    return _kepler_star_dir(tce[mission.id_column], data_dir)
  fmt = mission.tess_format
  tic, sector = tce[mission.id_column], int(tce[mission.sector_column])
  path, _ = tess_io.find_light_curve(tic, data_dir, sector, fmt)
  return path or tess_io.expected_location(tic, data_dir, sector, fmt).split(" or ")[0]


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


def views_from_lightcurve(lc, period: float, t0: float, duration: float, mission="tess",
                          **kwargs) -> dict[str, np.ndarray]:
  """{"global_view", "local_view"} of a TCE from a lightkurve light curve; see
  tce_views.views_from_lightcurve (this module's name for it)."""
  from astronet.data import tce_views  # noqa: PLC0415  (tce_views imports this module)
  return tce_views.views_from_lightcurve(lc, period, t0, duration, mission, **kwargs)
