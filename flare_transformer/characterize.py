"""What each detected flare is: amplitude, FWHM, equivalent duration, template fit, energy.

For an interval of `detection.detect` on a light curve (relative flux
f / median - 1, times in BTJD days):

  amplitude      peak relative flux above the local baseline (dimensionless);
  fwhm_min       full width at half maximum around the peak (minutes), linearly
                 interpolated between cadences (the Davenport t_1/2);
  ed_s           equivalent duration: the integral of the relative flux above the
                 baseline over the interval, one cadence padded each side (seconds);
  fit_*          a Davenport et al. (2014) template (data.flare_model) fitted by
                 least squares: t_peak (BTJD), t_half (minutes), amplitude, and the
                 reduced chi^2 with the light curve's noise sigma;
  energy_erg     ED x the star's quiescent luminosity in the TESS band, a blackbody
                 of TEFF (K) and RADIUS (R_sun) through the TESS response
                 (static/tess_response.csv); NaN, with energy_note saying why,
                 when TEFF or RADIUS is unknown.

The local baseline is a line through two medians of the unflagged relative
flux: BASELINE_WINDOW_MIN minutes before the interval, and as long again after
it once TAIL_SKIP_MIN minutes have passed (a decay tail may outlast the
interval; the rise does not precede it). On a spotted, rotating star (AU Mic)
a flat pre-flare level drifts away from the star's flux within a long interval
and can make equivalent durations negative; the line follows the modulation.
With too few cadences on one side the other side's median is the (flat) baseline.
"""

from __future__ import annotations

import functools
import os
import warnings

import numpy as np

from flare_transformer import data
from light_curve_util import fits_io

BASELINE_WINDOW_MIN = 120.0
TAIL_SKIP_MIN = 60.0
MINUTE = 1.0 / 1440
SOLAR_RADIUS_CM = 6.957e10
RESPONSE_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static",
                             "tess_response.csv")
# Units of every column characterize() adds (written beside the CSV as JSON).
UNITS = {
    "start_time": "BTJD (BJD - 2457000, days)", "end_time": "BTJD", "peak_time": "BTJD",
    "max_probability": "model probability", "amplitude": "relative flux above baseline",
    "fwhm_min": "minutes", "ed_s": "seconds (equivalent duration)",
    "fit_t_peak": "BTJD", "fit_t_half_min": "minutes", "fit_amplitude": "relative flux",
    "fit_reduced_chi2": "chi^2 / (points - 3), noise sigma of the light curve",
    "energy_erg": "erg, TESS band", "energy_note": "why energy_erg is NaN, if it is",
}
_H, _C, _K = 6.62607015e-27, 2.99792458e10, 1.380649e-16  # cgs


@functools.lru_cache(maxsize=1)
def tess_response() -> tuple[np.ndarray, np.ndarray]:
  """(wavelength cm, relative response) of the TESS band."""
  table = np.loadtxt(RESPONSE_FILE, delimiter=",", comments="#", skiprows=4)
  return table[:, 0] * 1e-7, table[:, 1]


def tess_band_luminosity(teff: float, radius_rsun: float) -> float:
  """erg/s of a blackbody star of `teff` (K) and radius (R_sun) in the TESS band:
  4 pi R^2 * pi * integral of B_lambda(T) S(lambda) d lambda."""
  wavelength, response = tess_response()
  with np.errstate(over="ignore"):
    planck = 2 * _H * _C**2 / wavelength**5 / np.expm1(_H * _C / (wavelength * _K * teff))
  radiance = np.trapezoid(planck * response, wavelength)
  radius = radius_rsun * SOLAR_RADIUS_CM
  return float(4 * np.pi * radius**2 * np.pi * radiance)


def stellar_parameters(path: str) -> dict:
  """{"teff" (K), "radius" (R_sun)} from a SPOC light curve's primary header (TIC
  values; None where absent or not positive)."""
  try:
    header = fits_io.read_fits_columns(path, "LIGHTCURVE", ["TIME"],
                                       header_keys=["TEFF", "RADIUS"]).header
  except Exception:  # pylint: disable=broad-except  (a missing header is only a NaN energy)
    return {"teff": None, "radius": None}
  def positive(value):
    try:
      value = float(value)
    except (TypeError, ValueError):
      return None
    return value if np.isfinite(value) and value > 0 else None
  return {"teff": positive(header.get("TEFF")), "radius": positive(header.get("RADIUS"))}


def _baseline(lc: data.LightCurve, start: float, end: float):
  """baseline(t): relative flux of the star without the flare (see module docstring)."""
  window = BASELINE_WINDOW_MIN * MINUTE
  before = (lc.time >= start - window) & (lc.time < start) & ~lc.quality
  after_start = end + TAIL_SKIP_MIN * MINUTE
  after = (lc.time > after_start) & (lc.time <= after_start + window) & ~lc.quality
  sides = [(float(np.median(lc.time[m])), float(np.median(lc.flux[m])))
           for m in (before, after) if m.sum() >= 10]
  if len(sides) == 2:
    (t0, f0), (t1, f1) = sides
    slope = (f1 - f0) / (t1 - t0)
    return lambda t: f0 + slope * (np.asarray(t) - t0)
  if sides:
    level = sides[0][1]
  else:
    near = (lc.time > end) & (lc.time <= end + window) & ~lc.quality
    level = float(np.median(lc.flux[near])) if near.any() else 0.0
  return lambda t: np.full(np.shape(t), level)


def _fwhm(time: np.ndarray, excess: np.ndarray, peak: int) -> float:
  """Full width at half maximum (days) around index `peak`, interpolated."""
  half = excess[peak] / 2
  left = peak
  while left > 0 and excess[left - 1] > half:
    left -= 1
  right = peak
  while right < len(excess) - 1 and excess[right + 1] > half:
    right += 1
  def crossing(inside, outside):
    if outside == inside or excess[inside] == excess[outside]:
      return time[inside]
    fraction = (excess[inside] - half) / (excess[inside] - excess[outside])
    return time[inside] + fraction * (time[outside] - time[inside])
  t_left = crossing(left, max(left - 1, 0))
  t_right = crossing(right, min(right + 1, len(excess) - 1))
  return max(float(t_right - t_left), data.CADENCE_DAYS)


def _fit(time, excess, noise, t_peak, t_half, amplitude) -> dict:
  from scipy import optimize  # noqa: PLC0415  (SciPy: only the template fit needs it)
  nan = {"fit_t_peak": np.nan, "fit_t_half_min": np.nan, "fit_amplitude": np.nan,
         "fit_reduced_chi2": np.nan}
  if len(time) < 4 or not amplitude > 0:
    return nan
  def model(t, tp, th, a):
    return data.flare_model(t, tp, th, a)
  try:
    with warnings.catch_warnings():
      warnings.simplefilter("ignore")
      (tp, th, a), _ = optimize.curve_fit(
          model, time, excess, p0=(t_peak, t_half, amplitude),
          bounds=([time[0], 0.2 * MINUTE, 0.0], [time[-1], 1.0, 10 * amplitude + 1]),
          maxfev=2000)
  except (RuntimeError, ValueError):
    return nan
  residual = (excess - model(time, tp, th, a)) / max(noise, 1e-12)
  return {"fit_t_peak": float(tp), "fit_t_half_min": float(th / MINUTE),
          "fit_amplitude": float(a),
          "fit_reduced_chi2": float(np.sum(residual**2) / max(len(time) - 3, 1))}


def characterize(lc: data.LightCurve, interval: dict, teff: float | None = None,
                 radius: float | None = None) -> dict:
  """`interval` (detection.detect's) with the measured columns of UNITS added."""
  start, end = interval["start_time"], interval["end_time"]
  baseline = _baseline(lc, start, end)
  inside = np.nonzero((lc.time >= start) & (lc.time <= end))[0]
  # One cadence each side: the integral starts and ends at the baseline.
  index = np.arange(max(inside[0] - 1, 0), min(inside[-1] + 2, len(lc.time)))
  time, excess = lc.time[index], lc.flux[index] - baseline(lc.time[index])
  peak = int(np.argmax(excess))
  amplitude = float(excess[peak])
  fwhm = _fwhm(time, excess, peak)
  ed = float(np.trapezoid(excess, time) * 86400.0)
  fit_window = np.nonzero((lc.time >= start - 3 * fwhm) & (lc.time <= end + 6 * fwhm) &
                          ~lc.quality)[0]
  fit = _fit(lc.time[fit_window], lc.flux[fit_window] - baseline(lc.time[fit_window]),
             lc.noise,
             float(time[peak]), fwhm, amplitude)
  if teff and radius:
    energy, note = ed * tess_band_luminosity(teff, radius), ""
  else:
    energy = float("nan")
    note = "no {} in the light curve's header".format(
        " or ".join(k for k, v in (("TEFF", teff), ("RADIUS", radius)) if not v))
  return {**interval, "amplitude": amplitude, "fwhm_min": fwhm / MINUTE, "ed_s": ed, **fit,
          "energy_erg": energy, "energy_note": note}


def characterize_all(lc: data.LightCurve, intervals: list[dict]) -> list[dict]:
  """characterize() of every interval, with TEFF / RADIUS from lc.path's header."""
  stellar = stellar_parameters(lc.path) if lc.path and os.path.isfile(lc.path) else {
      "teff": None, "radius": None}
  return [characterize(lc, i, stellar["teff"], stellar["radius"]) for i in intervals]
