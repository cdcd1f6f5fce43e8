"""One catalog row -> its global and local views (numpy only, no TensorFlow).

This is the work done in the worker processes of generate_input_records and
in the Beam pipeline. It imports no TensorFlow, so workers started with the
`spawn` method (macOS, Windows) come up in about a second; everything a worker
needs travels in its arguments (`RecordConfig`, the row), never in absl FLAGS.

A TCE that cannot be processed (missing or corrupt file, too few points,
spline failure, degenerate view) gives a `Failure` instead of views.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Mapping

import numpy as np

from astronet import missions
from astronet.data import preprocess
from light_curve_util import tess_io
from light_curve_util import transit_model
from tf_util import errors

logger = logging.getLogger(__name__)

# Columns of an injection catalog (see astronet/data/inject_transits.py).
INJECTED_COLUMN = "injected"
INJECTION_COLUMNS = ("inj_period", "inj_t0", "inj_duration", "inj_depth_ppm",
                     "inj_impact", "inj_shape", "inj_u1", "inj_u2")


@dataclasses.dataclass(frozen=True)
class RecordConfig:
  """How to turn catalog rows into records (picklable; passed to workers).

  Attributes:
    mission: "kepler" or "tess".
    data_dir: Base directory of the light curves.
    trim_multisector: TESS: keep only the TCE's own sector of a TIC that
      appears in several rows (see `preprocess.read_and_process_tce`).
    inject_transits: Inject the transit described by each row's injection
      columns (`injection_from_row`) before processing.
    spline_backend: Kepler spline fitter: "numpy" (vectorised, default) or
      "pydl" (the original's; for comparisons).
    cache_stars: Process each star once per worker process and reuse it for
      its other TCEs (`preprocess.read_and_process_tce(use_cache=...)`).
    tess_format: TESS light curves read: "auto" (h5, else SPOC, else QLP FITS, by
      file name), "h5", "spoc" or "qlp" (missions.with_light_curves).
    flux_column: FITS flux column (None: the pipeline's default).
    sectors: "catalog" (default) or "all" (every sector of the TIC, stitched).
  """
  mission: str
  data_dir: str
  trim_multisector: bool = True
  inject_transits: bool = False
  spline_backend: str = "numpy"
  cache_stars: bool = True
  tess_format: str | None = None
  flux_column: str | None = None
  sectors: str | None = None

  @property
  def mission_config(self) -> missions.Mission:
    return missions.with_light_curves(missions.get_mission(self.mission), self.tess_format,
                                      self.flux_column, self.sectors)


@dataclasses.dataclass
class Failure:
  """A TCE that was skipped, and why (a row of failed_tces.csv)."""
  id: str
  file: str
  reason: str
  shard: str = ""
  tce: str = ""


def injection_from_row(tce: Mapping) -> transit_model.TransitParams | None:
  """The transit to inject for a catalog row (None where injected is false)."""
  if not bool(tce.get(INJECTED_COLUMN, False)):
    return None
  missing = [c for c in INJECTION_COLUMNS if c not in tce]
  if missing:
    raise errors.CatalogError("Injection row lacks column(s) {}".format(missing))
  return transit_model.TransitParams(
      period=float(tce["inj_period"]), t0=float(tce["inj_t0"]),
      duration=float(tce["inj_duration"]), depth=float(tce["inj_depth_ppm"]) / 1e6,
      impact=float(tce["inj_impact"]), shape=str(tce["inj_shape"]),
      limb_darkening=(float(tce["inj_u1"]), float(tce["inj_u2"])))


def views_of(time: np.ndarray, flux: np.ndarray, period: float, t0: float, duration: float,
             mission: missions.Mission, name: str = "TCE") -> dict[str, np.ndarray]:
  """Folds and bins one TCE (days); numerical warnings count as a sparse light curve.

  Triage ran with warnings as errors and skipped a TCE whose views raised a
  RuntimeWarning; we do the same rather than write NaN or inf into a record.

  Returns:
    {"global_view": float64 [n], "local_view": float64 [m]} (the mission's lengths).
  """
  with warnings.catch_warnings():
    warnings.simplefilter("error", RuntimeWarning)
    try:
      result = preprocess.generate_views(time, flux, period, t0, duration,
                                         mission, name)
    except RuntimeWarning as w:
      raise errors.SparseLightCurveError(
          "{}: invalid values while binning the views ({})".format(name, w)) from None
  for key, view in result.items():
    if not np.all(np.isfinite(view)):
      raise errors.DegenerateViewError(
          "{}: {} has non-finite values".format(name, key))
  return result


def compute_views(time: np.ndarray, flux: np.ndarray, tce: Mapping,
                  mission: missions.Mission) -> dict[str, np.ndarray]:
  """views_of a catalog row (its period, t0 and duration columns)."""
  period, t0, duration = mission.tce_params(tce)
  return views_of(time, flux, period, t0, duration, mission, mission.describe(tce))


def process_tce(star_id: int, period: float, t0: float, duration: float,
                mission: str | missions.Mission, data_dir: str, sector: int | None = None,
                spline_backend: str = "numpy", tess_format: str | None = None,
                flux_column: str | None = None,
                sectors: str | None = None) -> dict[str, np.ndarray]:
  """The views of one TCE given by value: read, detrend / normalise, fold, bin.

  Args:
    star_id: KIC id (Kepler) or TIC id (TESS).
    period, t0, duration: days (t0 in BKJD / BTJD).
    mission: "kepler" or "tess" (or a missions.Mission).
    data_dir: Kepler MAST-layout folder, or the Triage h5 base folder.
    sector: TESS sector of the light curve (required for TESS).
    spline_backend: Kepler spline fitter, "numpy" or "pydl".
    tess_format, flux_column, sectors: TESS light curves read ("auto", "h5",
      "spoc", "qlp"; sectors "catalog" or "all"; see missions.with_light_curves).

  Raises:
    InvalidTCEError, LightCurveFileError, ...: as the record pipeline.
  """
  mission, name, time, flux = tce_light_curve(star_id, mission, data_dir, sector,
                                              spline_backend, tess_format, flux_column,
                                              sectors)
  return views_of(time, flux, period, t0, duration, mission, name)


def tce_light_curve(star_id: int, mission: str | missions.Mission, data_dir: str,
                    sector: int | None = None, spline_backend: str = "numpy",
                    tess_format: str | None = None, flux_column: str | None = None,
                    sectors: str | None = None):
  """(mission, name, time, flux): the processed light curve process_tce bins (days,
  relative flux; read-only arrays from the per-process star cache)."""
  mission = missions.get_mission(mission) if isinstance(mission, str) else mission
  mission = missions.with_light_curves(mission, tess_format, flux_column, sectors)
  if mission.has_sectors and sector is None:
    raise errors.InvalidTCEError("TESS TIC {}: a sector is required".format(star_id))
  name = ("{} {}".format(mission.star_prefix, star_id) if not mission.has_sectors
          else "{} {} sector {}".format(mission.star_prefix, star_id, sector))
  time, flux = preprocess.read_and_process_star(mission, data_dir, star_id, sector,
                                                spline_backend=spline_backend)
  return mission, name, time, flux


def _lightcurve_parts(lc) -> list[tuple[np.ndarray, np.ndarray]]:
  """[(time days, flux)] of a lightkurve LightCurve / LightCurveCollection, or of any
  object with .time (astropy Time or array) and .flux (Quantity or array)."""
  if hasattr(lc, "time") and hasattr(lc, "flux"):
    curves = [lc]
  else:
    try:
      curves = list(lc)
    except TypeError:
      raise errors.InvalidTCEError("Not a light curve: {!r} has no time / flux".format(
          type(lc).__name__)) from None
  parts = []
  for curve in curves:
    time, flux = curve.time, curve.flux
    time = np.asarray(getattr(time, "value", time), np.float64)
    # The flux keeps its dtype (float32 from FITS): the Kepler spline divides in it,
    # as the disk path does. Masked values (astropy MaskedQuantity) become NaN.
    values = getattr(flux, "unmasked", flux)
    values = np.array(getattr(values, "value", values))
    if values.dtype.kind != "f":
      values = values.astype(np.float64)
    mask = np.asarray(getattr(flux, "mask", False))
    flux = np.where(mask, np.nan, values).astype(values.dtype.newbyteorder("="))
    if time.shape != flux.shape or time.ndim != 1:
      raise errors.InvalidTCEError("Light curve time {} and flux {} differ in shape".format(
          time.shape, flux.shape))
    finite = np.isfinite(time) & np.isfinite(flux)
    if finite.any():
      parts.append((time[finite], flux[finite]))
  if not parts:
    raise errors.EmptyLightCurveError("The light curve has no finite time / flux values")
  return parts


def tess_fits_light_curve(paths, flux_column: str | None = None, name: str = "TCE"):
  """(time, flux) stitched from TESS FITS files (SPOC / QLP by file name), one per sector.

  Raises:
    ConfigError: A file that is not a TESS light curve by its name, or a flux
      column of another pipeline.
    LightCurveFileError / MissingFieldError: Unreadable file, missing column.
  """
  parts = []
  for path in paths:
    pipeline = tess_io.pipeline_of(path)
    time, flux, _ = tess_io.read_tess_fits_light_curve(
        path, pipeline, flux_column, tess_io.DEFAULT_BITMASKS[pipeline])
    parts.append((time, flux))
  return preprocess.stitched_tess_light_curve(parts, name)


def views_from_lightcurve(lc, period: float, t0: float, duration: float,
                          mission: str | missions.Mission = "tess", name: str = "TCE",
                          spline_backend: str = "numpy") -> dict[str, np.ndarray]:
  """The views of one TCE from a light curve in memory (e.g. lightkurve's).

  Args:
    lc: lightkurve LightCurve or LightCurveCollection (one per quarter / sector),
      or any object with .time (astropy Time in BKJD / BTJD, or days) and .flux.
      Quality masking is the light curve's own (lightkurve applies its default
      bitmask on reading, the same as this project's SPOC reader).
    period, t0, duration: days (t0 in the light curve's time system).
    mission: "kepler" (each part detrended with the Kepler spline, as each file
      of a star) or "tess" (each part's flux / its median as Triage magnitudes,
      then the Triage rule: the same views as reading the FITS from disk).

  Raises:
    InvalidTCEError / EmptyLightCurveError: Not a light curve, or no finite values.
  """
  mission = missions.get_mission(mission) if isinstance(mission, str) else mission
  parts = _lightcurve_parts(lc)
  if mission.has_sectors:
    time, flux = preprocess.stitched_tess_light_curve(parts, name)
  else:
    time, flux = preprocess.process_light_curve([t for t, _ in parts], [f for _, f in parts],
                                                spline_backend=spline_backend)
  return views_of(time, flux, period, t0, duration, mission, name)


def process_tce_views(tce: Mapping, config: RecordConfig) -> dict[str, np.ndarray]:
  """Reads, processes (optionally injects) and bins one catalog row."""
  mission = config.mission_config
  injection = injection_from_row(tce) if config.inject_transits else None
  time, flux = preprocess.read_and_process_tce(tce, mission, config.data_dir,
                                               config.trim_multisector, injection,
                                               spline_backend=config.spline_backend,
                                               use_cache=config.cache_stars)
  return compute_views(time, flux, tce, mission)


# Per-TCE failures we log and skip. Anything else (a bug) is also contained to
# its TCE, but logged with its traceback.
_EXPECTED_FAILURES = (errors.AstronetError, OSError, ValueError,
                      ZeroDivisionError, FloatingPointError)


def try_process_tce_views(tce: Mapping, config: RecordConfig, shard: str = ""
                         ) -> tuple[dict[str, np.ndarray] | None, Failure | None]:
  """`process_tce_views` that returns (None, Failure) instead of raising."""
  mission = config.mission_config
  try:
    return process_tce_views(tce, config), None
  except Exception as e:  # pylint: disable=broad-except
    if not isinstance(e, _EXPECTED_FAILURES):
      logger.exception("Unexpected error processing %s", mission.describe(tce))
    filename = getattr(e, "filename", None)
    if not filename:
      try:
        filename = preprocess.light_curve_location(tce, mission, config.data_dir)
      except Exception:  # pylint: disable=broad-except
        filename = ""
    reason = "{}: {}".format(type(e).__name__, e).replace("\n", " ")
    logger.warning("Skipped %s: %s", mission.describe(tce), reason)
    return None, Failure(id=str(tce.get(mission.id_column, "")), file=str(filename),
                         reason=reason, shard=shard, tce=mission.describe(tce))


def light_curve_provenance(tce: Mapping, config: RecordConfig) -> dict:
  """The record features saying which TESS FITS light curve a record came from:
  {light_curve_format: "spoc" / "qlp", flux_column, quality_bitmask (-1: QUALITY != 0)};
  {} for Kepler and the Triage h5 (whose records stay those of the original)."""
  mission = config.mission_config
  if not mission.has_sectors or mission.light_curve_format == "triage_h5":
    return {}
  fmt = mission.tess_format
  _, found = tess_io.find_light_curve(tce[mission.id_column], config.data_dir,
                                      int(tce[mission.sector_column]), fmt)
  if found == "h5":
    return {}
  bitmask = tess_io.DEFAULT_BITMASKS[found]
  stitched = {}
  if mission.sectors == "all":
    stitched = {"light_curve_sectors": ",".join(
        str(s) for s in tess_io.fits_sectors(tce[mission.id_column], config.data_dir, found))}
  return {**stitched, "light_curve_format": found,
          "flux_column": mission.flux_column or tess_io.FLUX_COLUMNS[found][0],
          "quality_bitmask": -1 if bitmask is None else bitmask}


def light_curve_key(tce: Mapping, config: RecordConfig) -> tuple:
  """What identifies a row's light curve: (star id, TESS sector or None)."""
  mission = config.mission_config
  sector = tce.get(mission.sector_column) if mission.sector_column else None
  return (str(tce.get(mission.id_column, "")), None if sector is None else str(sector))


def process_star_group(item: tuple[str, list[dict], RecordConfig]) -> list:
  """Worker entry point for the TCEs of one light curve: (shard, rows, config)
  -> [(views or None, Failure or None) per row]. With `config.cache_stars`
  the light curve is read and detrended once for all the rows (and kept for
  a while, in case the star comes back in a later shard)."""
  shard, rows, config = item
  return [try_process_tce_views(tce, config, shard) for tce in rows]
