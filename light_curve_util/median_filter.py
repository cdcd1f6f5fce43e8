"""Median filter: median y-value in uniform (possibly overlapping) bins along x.

Port of exoplanet-ml's `light_curve/median_filter.py` (commit 7f429cf; later a
C++ op) and of Astronet-Triage's variant, vectorised through `binning`.
The two originals differ only in what happens to empty bins, which is a
parameter here:

* ``empty_bin_policy="median"`` (exoplanet-ml): empty bins take np.median(y).
* ``empty_bin_policy="linear_interpolate"`` (Triage): empty bins are
  interpolated linearly between the nearest filled bins, and copy the edge
  value outward at the ends (`fill_empty_bin`).
"""

from __future__ import annotations

import numpy as np

from light_curve_util import binning
from tf_util import errors

EMPTY_BIN_POLICIES = ("median", "linear_interpolate")


def fill_empty_bin(y: np.ndarray) -> np.ndarray:
  """Replaces NaN bins by linear interpolation between the nearest finite bins.

  Leading/trailing NaNs copy the first/last finite value. Works in place on
  float arrays and returns y, like the Triage original.

  Raises:
    DegenerateViewError: Every bin is NaN.
  """
  empty = np.isnan(y)
  if not np.any(empty):
    return y
  if np.all(empty):
    raise errors.DegenerateViewError(
        "Light curve consists only of invalid values: all {} bins are "
        "empty".format(len(y)))
  filled = np.flatnonzero(~empty)
  y[empty] = np.interp(np.flatnonzero(empty), filled, y[filled])
  return y


def median_filter(x: np.ndarray,
                  y: np.ndarray,
                  num_bins: int,
                  bin_width: float | None = None,
                  x_min: float | None = None,
                  x_max: float | None = None,
                  empty_bin_policy: str = "median") -> np.ndarray:
  """Computes the median y-value in uniform intervals (bins) along the x-axis.

  [x_min, x_max) holds num_bins bins of width bin_width whose left edges are
  (x_max - x_min - bin_width) / (num_bins - 1) apart; bin i is the median of
  the y[j] with bin_min <= x[j] < bin_max.

  Args:
    x: 1D array sorted in ascending order (at least 2 elements).
    y: 1D array, same length as x.
    num_bins: Number of bins, at least 2.
    bin_width: Bin width (x units); default (x_max - x_min) / num_bins.
    x_min: Inclusive left end; default x[0].
    x_max: Exclusive right end; default x[-1].
    empty_bin_policy: "median" or "linear_interpolate" (see module docstring).

  Returns:
    1D array of num_bins medians: y's dtype for "median", float64 for
    "linear_interpolate".

  Raises:
    BinningError: An argument is invalid (the original's ValueError messages).
    DegenerateViewError: "linear_interpolate" with every bin empty.
  """
  if empty_bin_policy not in EMPTY_BIN_POLICIES:
    raise errors.BinningError(
        "empty_bin_policy must be one of {}. Got: {!r}".format(
            EMPTY_BIN_POLICIES, empty_bin_policy))
  x = np.asarray(x)
  y = np.asarray(y)
  bin_width, x_min, x_max = binning.validate_bin_arguments(
      x, y, num_bins, bin_width, x_min, x_max,
      require_x_min_in_range=empty_bin_policy == "median")
  starts, ends = binning.bin_index_ranges(x, num_bins, bin_width, x_min, x_max)
  medians = binning.segment_medians(y, starts, ends)
  nonempty = ends > starts
  if empty_bin_policy == "median":
    if np.all(nonempty):  # np.median(y) costs a pass over y; skip if unused.
      return medians
    result = np.repeat(np.median(y), num_bins)
    result[nonempty] = medians[nonempty]
    return result
  result = np.full(num_bins, np.nan)
  result[nonempty] = medians[nonempty]
  return fill_empty_bin(result)
