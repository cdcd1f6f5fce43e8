"""Light-curve utility functions (port of exoplanet-ml `light_curve/util.py`).

Names and signatures are the original's; loops over cadences are vectorised.
Times are in days (BKJD for Kepler, BTJD for TESS).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tf_util import errors


def phase_fold_time(time: np.ndarray, period: float, t0: float) -> np.ndarray:
  """Folds time so that t0 maps to 0, into [-period / 2, period / 2).

  Args:
    time: 1D array of times (days).
    period: Positive folding period (days).
    t0: Time mapped to 0 (days).

  Returns:
    1D array, same length as time.
  """
  half_period = period / 2
  result = np.mod(time + (half_period - t0), period)
  result -= half_period
  return result


def _as_segments(all_time, all_flux):
  """Returns (list_of_time, list_of_flux, single_segment)."""
  if isinstance(all_time, np.ndarray) and all_time.ndim == 1:
    return [all_time], [all_flux], True
  return all_time, all_flux, False


def split(all_time, all_flux, gap_width: float = 0.75):
  """Splits a light curve at gaps wider than gap_width.

  Args:
    all_time: 1D array or sequence of 1D arrays of times (days).
    all_flux: Matching flux array(s).
    gap_width: Minimum gap (days) that starts a new segment.

  Returns:
    out_time, out_flux: Lists of arrays (views into the inputs).
  """
  all_time, all_flux, _ = _as_segments(all_time, all_flux)
  out_time = []
  out_flux = []
  for time, flux in zip(all_time, all_flux):
    if len(time) == 0:
      continue
    breaks = np.flatnonzero(np.diff(time) > gap_width) + 1
    out_time.extend(np.split(time, breaks))
    out_flux.extend(np.split(flux, breaks))
  return out_time, out_flux


def remove_events(all_time,
                  all_flux,
                  events: Sequence,
                  width_factor: float = 1.0,
                  include_empty_segments: bool = True):
  """Removes the points within width_factor * duration / 2 of each event.

  Args:
    all_time: 1D array or sequence of 1D arrays of times (days).
    all_flux: Matching flux array(s).
    events: `periodic_event.Event`s to remove.
    width_factor: Multiplier of each event's duration.
    include_empty_segments: Whether segments left empty are kept (lists only).

  Returns:
    output_time, output_flux: Arrays for single-array input, else lists.
  """
  all_time, all_flux, single_segment = _as_segments(all_time, all_flux)
  output_time = []
  output_flux = []
  for time, flux in zip(all_time, all_flux):
    mask = np.ones_like(time, dtype=bool)
    for event in events:
      transit_dist = np.abs(phase_fold_time(time, event.period, event.t0))
      mask &= transit_dist > 0.5 * width_factor * event.duration
    if single_segment:
      return time[mask], flux[mask]
    if include_empty_segments or np.any(mask):
      output_time.append(time[mask])
      output_flux.append(flux[mask])
  return output_time, output_flux


def interpolate_missing_time(time: np.ndarray,
                             cadence_no: np.ndarray | None = None,
                             fill_value="extrapolate") -> np.ndarray:
  """Interpolates missing (NaN or Inf) time values.

  Args:
    time: Monotonically increasing times (days), missing ones non-finite.
    cadence_no: Optional cadence numbers; default evenly spaced.
    fill_value: Treatment of the ends, as in scipy.interpolate.interp1d.

  Returns:
    Array like time with the missing values interpolated.

  Raises:
    EmptyLightCurveError: Fewer than 2 finite times.
  """
  if cadence_no is None:
    cadence_no = np.arange(len(time))
  is_finite = np.isfinite(time)
  num_finite = np.sum(is_finite)
  if num_finite < 2:
    raise errors.EmptyLightCurveError(
        "Cannot interpolate time with fewer than 2 finite values. Got "
        "len(time) = {} with {} finite values.".format(len(time), num_finite))
  import scipy.interpolate  # noqa: PLC0415  (SciPy: only this function needs it (0.5 s import))
  interpolate_fn = scipy.interpolate.interp1d(
      cadence_no[is_finite],
      time[is_finite],
      copy=False,
      bounds_error=False,
      fill_value=fill_value,
      assume_sorted=True)
  return interpolate_fn(cadence_no)


def interpolate_masked_spline(all_time, all_masked_time, all_masked_spline):
  """Linearly interpolates spline values across masked points.

  Args:
    all_time: List of time arrays.
    all_masked_time: List of time arrays with some values removed.
    all_masked_spline: Spline values at all_masked_time.

  Returns:
    List of arrays: the spline at all_time (all NaN where a segment is empty).
  """
  interp_spline = []
  for time, masked_time, masked_spline in zip(all_time, all_masked_time,
                                              all_masked_spline):
    if masked_time.size:
      interp_spline.append(np.interp(time, masked_time, masked_spline))
    else:
      interp_spline.append(np.full(len(time), np.nan))
  return interp_spline


def reshard_arrays(xs, ys):
  """Re-splits the concatenation of xs into pieces as long as those of ys.

  Raises:
    ValueError: xs and ys differ in total length.
  """
  boundaries = np.cumsum([len(y) for y in ys])
  concat_x = np.concatenate(xs)
  if len(concat_x) != boundaries[-1]:
    raise ValueError(
        "xs and ys do not have the same total length ({} vs. {}).".format(
            len(concat_x), boundaries[-1]))
  return np.split(concat_x, boundaries[:-1])


def uniform_cadence_light_curve(cadence_no: np.ndarray, time: np.ndarray,
                                flux: np.ndarray):
  """Places data on a gap-free grid of cadence numbers.

  Returns:
    cadence_no: Every cadence number from min to max of the input.
    time, flux: Values on that grid; 0 where missing.
    mask: False where a cadence is missing or any of its values is non-finite.

  Raises:
    ValueError: Duplicate cadence numbers.
  """
  min_cadence_no = np.min(cadence_no)
  max_cadence_no = np.max(cadence_no)
  out_cadence_no = np.arange(
      min_cadence_no, max_cadence_no + 1, dtype=cadence_no.dtype)
  out_time = np.zeros_like(out_cadence_no, dtype=time.dtype)
  out_flux = np.zeros_like(out_cadence_no, dtype=flux.dtype)
  out_mask = np.zeros_like(out_cadence_no, dtype=bool)

  valid = np.isfinite(cadence_no) & np.isfinite(time) & np.isfinite(flux)
  index = (cadence_no[valid] - min_cadence_no).astype(np.int64)
  occurrences = np.bincount(index, minlength=len(out_cadence_no))
  if np.any(occurrences > 1):
    duplicate = cadence_no[valid][occurrences[index] > 1][0]
    raise ValueError("Duplicate cadence number: {}".format(duplicate))
  out_time[index] = time[valid]
  out_flux[index] = flux[valid]
  out_mask[index] = True
  return out_cadence_no, out_time, out_flux, out_mask


def count_transit_points(time: np.ndarray, event) -> np.ndarray:
  """Number of points in each transit of `event` within [min(time), max(time)].

  Args:
    time: Sorted 1D array of times (days).
    event: A `periodic_event.Event`.

  Returns:
    int array: for each transit, the points with |t - midpoint| <= duration / 2.

  Raises:
    ValueError: More than 10**6 transits.
  """
  t_min = np.min(time)
  t_max = np.max(time)
  if (t_max - t_min) / event.period > 10**6:
    raise ValueError(
        "Too many transits! Time range is [{:.4f}, {:.4f}] and period is "
        "{:.4e}.".format(t_min, t_max, event.period))
  t0 = np.mod(event.t0 - t_min, event.period) + t_min  # In [t_min, t_min + P).
  midpoints = np.arange(t0, t_max, event.period)
  begin = np.searchsorted(time, midpoints - event.duration / 2, side="left")
  end = np.searchsorted(time, midpoints + event.duration / 2, side="right")
  return end - begin


# Times beyond this many days from the mission's zero point (BKJD, BTJD) are
# not observation times but corrupt values (fill values, unconverted units).
MAX_ABS_TIME_DAYS = 1e5


def check_times(time: np.ndarray, filename: str, column: str = "TIME") -> None:
  """Checks that a file's finite times are increasing and of plausible size.

  A light curve with scrambled or absurd times would otherwise be folded and
  binned into meaningless views without any error.

  Raises:
    LightCurveFileError: Names the file, the index and the value.
  """
  time = np.asarray(time)
  if not time.size:
    return
  absurd = np.nonzero(np.abs(time) > MAX_ABS_TIME_DAYS)[0]
  if absurd.size:
    raise errors.LightCurveFileError(
        "{}: {}[{}] = {!r} is not a plausible time in days ({} such values)".format(
            filename, column, absurd[0], float(time[absurd[0]]), absurd.size), filename)
  backwards = np.nonzero(np.diff(time) <= 0)[0]
  if backwards.size:
    i = backwards[0]
    raise errors.LightCurveFileError(
        "{}: {} is not increasing at index {} ({!r} then {!r})".format(
            filename, column, i + 1, float(time[i]), float(time[i + 1])), filename)
