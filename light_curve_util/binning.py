"""Vectorised binning of sorted samples into uniformly spaced, possibly overlapping bins.

The original (exoplanet-ml `binning.bin_and_aggregate`, and before it
`median_filter.py` / the C++ `median_filter.cc`) walked two indices over the
points in a Python loop. Here bin edges and index ranges come from
`np.searchsorted`, and the medians of all bins are computed at once.

Bin i covers [bin_min_i, bin_min_i + bin_width). As in the original, the edges
advance by repeated addition of `bin_spacing` (accumulated float error
included), which `np.add.accumulate` reproduces bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tf_util import errors

# Above this many padded cells per real value, the padded 2D median (fast for
# evenly filled bins) gives way to the rank-sorting median (any fill pattern).
_MAX_PADDING_RATIO = 3


def validate_bin_arguments(x: np.ndarray, y: np.ndarray, num_bins: int,
                           bin_width: float | None, x_min: float | None,
                           x_max: float | None,
                           require_x_min_in_range: bool = True):
  """Checks binning arguments; returns the resolved (bin_width, x_min, x_max).

  The messages are those of the original implementation.

  Raises:
    BinningError: An argument is invalid.
  """
  if num_bins < 2:
    raise errors.BinningError(
        "num_bins must be at least 2. Got: {}".format(num_bins))
  x_len = len(x)
  if x_len < 2:
    raise errors.BinningError("len(x) must be at least 2. Got: {}".format(x_len))
  if x_len != len(y):
    raise errors.BinningError(
        "len(x) (got: {}) must equal len(y) (got: {})".format(x_len, len(y)))

  x_min = x_min if x_min is not None else x[0]
  x_max = x_max if x_max is not None else x[-1]
  if x_min >= x_max:
    raise errors.BinningError(
        "x_min (got: {}) must be less than x_max (got: {})".format(x_min, x_max))
  if require_x_min_in_range and x_min > x[-1]:
    raise errors.BinningError(
        "x_min (got: {}) must be less than or equal to the largest value of x "
        "(got: {})".format(x_min, x[-1]))

  bin_width = bin_width if bin_width is not None else (x_max - x_min) / num_bins
  if bin_width <= 0:
    raise errors.BinningError(
        "bin_width must be positive. Got: {}".format(bin_width))
  if bin_width >= x_max - x_min:
    raise errors.BinningError(
        "bin_width (got: {}) must be less than x_max - x_min (got: {})".format(
            bin_width, x_max - x_min))
  return bin_width, x_min, x_max


def bin_index_ranges(x: np.ndarray, num_bins: int, bin_width: float,
                     x_min: float, x_max: float) -> tuple[np.ndarray, np.ndarray]:
  """Index range [start, end) of the sorted `x` falling in each bin.

  Args:
    x: 1D array sorted in ascending order.
    num_bins, bin_width, x_min, x_max: Validated binning parameters.

  Returns:
    starts, ends: int arrays of shape [num_bins].
  """
  bin_spacing = (x_max - x_min - bin_width) / (num_bins - 1)
  steps = np.full(num_bins, bin_spacing)
  steps[0] = x_min
  bin_mins = np.add.accumulate(steps)
  steps[0] = x_min + bin_width
  bin_maxs = np.add.accumulate(steps)
  starts = np.searchsorted(x, bin_mins, side="left")
  ends = np.searchsorted(x, bin_maxs, side="left")
  return starts, np.maximum(ends, starts)


def _padded_medians(y, starts, counts, max_count):
  """Medians via one row per bin (a strided window copy), padded with +inf and
  sorted along rows."""
  padded = np.concatenate([y, np.full(max_count, np.inf, dtype=y.dtype)])
  rows = sliding_window_view(padded, max_count)[starts]  # copies the rows
  np.putmask(rows, np.arange(max_count)[None, :] >= counts[:, None], np.inf)
  rows.sort(axis=1)
  bins = np.arange(len(counts))
  lo = rows[bins, (counts - 1) // 2]
  hi = rows[bins, counts // 2]
  return lo, hi


def _ranked_medians(y, starts, counts):
  """Medians via one integer sort of (bin, rank of y) keys; any fill pattern."""
  order = np.argsort(y, kind="stable")
  rank = np.empty(len(y), dtype=np.int64)
  rank[order] = np.arange(len(y))
  offsets = np.cumsum(counts) - counts
  bin_of_item = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
  item_index = (np.arange(counts.sum()) - np.repeat(offsets, counts) +
                np.repeat(starts, counts))
  keys = bin_of_item * len(y) + rank[item_index]
  keys.sort()
  sorted_values = y[order[keys - bin_of_item * len(y)]]
  lo = sorted_values[offsets + (counts - 1) // 2]
  hi = sorted_values[offsets + counts // 2]
  return lo, hi


def segment_medians(y: np.ndarray, starts: np.ndarray,
                    ends: np.ndarray) -> np.ndarray:
  """Median of y[starts[i]:ends[i]] for every i with a non-empty range.

  Equal to `np.median` of each slice, in y's dtype (even counts average the two
  middle values in y's dtype, as np.median does); a slice holding NaN gives NaN.

  Args:
    y: 1D array.
    starts, ends: int arrays of the same length; ends >= starts.

  Returns:
    Array of the same length as starts (entries of empty ranges are undefined).
  """
  if not np.issubdtype(y.dtype, np.floating):
    y = y.astype(np.float64)  # np.median of integers is float64.
  counts = ends - starts
  result = np.zeros(len(starts), dtype=y.dtype)
  nonempty = counts > 0
  if not np.any(nonempty):
    return result
  s, c = starts[nonempty], counts[nonempty]
  max_count = int(c.max())
  if max_count * len(c) <= _MAX_PADDING_RATIO * int(c.sum()) + 64:
    lo, hi = _padded_medians(y, s, c, max_count)
  else:
    lo, hi = _ranked_medians(y, s, c)
  medians = np.where(c % 2 == 1, hi, (lo + hi) / y.dtype.type(2))

  is_nan = np.isnan(y)
  if is_nan.any():  # np.median of a slice holding NaN is NaN.
    nan_cumsum = np.concatenate([[0], np.cumsum(is_nan)])
    has_nan = nan_cumsum[s + c] > nan_cumsum[s]
    medians = np.where(has_nan, np.nan, medians)
  result[nonempty] = medians
  return result


def bin_and_aggregate(x: np.ndarray,
                      y: np.ndarray,
                      num_bins: int,
                      bin_width: float | None = None,
                      x_min: float | None = None,
                      x_max: float | None = None,
                      aggr_fn: Callable | None = None):
  """Aggregates y-values in uniform intervals (bins) along the x-axis.

  Port of exoplanet-ml `light_curve/binning.bin_and_aggregate`: bins hold the
  points with bin_min <= x < bin_min + bin_width; empty bins are 0 with count 0.

  Args:
    x: 1D array sorted in ascending order, at least 2 elements.
    y: Array with len(y) == len(x); aggregated along axis 0.
    num_bins: Number of bins, at least 2.
    bin_width: Bin width in x units; default (x_max - x_min) / num_bins.
    x_min: Inclusive left end; default x[0].
    x_max: Exclusive right end; default x[-1].
    aggr_fn: Called as aggr_fn(values, axis=0); default median (vectorised).

  Returns:
    result: float64 array of shape [num_bins] + y.shape[1:].
    bin_counts: int array of shape [num_bins].
  """
  x = np.asarray(x)
  y = np.asarray(y)
  bin_width, x_min, x_max = validate_bin_arguments(x, y, num_bins, bin_width,
                                                   x_min, x_max)
  starts, ends = bin_index_ranges(x, num_bins, bin_width, x_min, x_max)
  counts = ends - starts
  # The original always produced float64 (its dtype test never matched).
  result = np.zeros((num_bins,) + y.shape[1:], dtype=np.float64)
  nonempty = counts > 0
  if aggr_fn is None or aggr_fn is np.median:
    flat = y.reshape(len(y), -1)
    columns = [segment_medians(flat[:, k], starts, ends) for k in range(flat.shape[1])]
    medians = np.stack(columns, axis=1).reshape((num_bins,) + y.shape[1:])
    result[nonempty] = medians[nonempty]
  else:
    # Arbitrary aggregations need one call per bin (not per point).
    for i in np.flatnonzero(nonempty):
      result[i] = aggr_fn(y[starts[i]:ends[i]], axis=0)
  return result, counts
