"""Global and local views of a phase-folded light curve.

One code path for Kepler (exoplanet-ml) and TESS (Astronet-Triage), differing
only through `ViewConfig`:

=================  =========  ================  =============  ===================
view               num_bins   bin width         half window    empty bins
=================  =========  ================  =============  ===================
Kepler global      2001       P / 2001          P / 2          median of all flux
Kepler local       201        0.16 D            min(P/2, 4 D)  median of all flux
TESS global        201        1.2 P / 201       P / 2          linear interpolation
TESS local         61         0.16 D            min(P/2, 2 D)  linear interpolation
=================  =========  ================  =============  ===================

(P = period, D = duration, both in days.) The TESS views also reject sparse
windows (fewer than 5 points, or data spanning less than half the window) with
`SparseLightCurveError`, as Triage did. Views are float64, normalised so that
the median is 0 and the minimum is -1.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from light_curve_util import median_filter
from light_curve_util import util
from tf_util import errors

# Sparse-window rule of Astronet-Triage's median_filter.
_MIN_POINTS_IN_WINDOW = 5


@dataclasses.dataclass(frozen=True)
class ViewConfig:
  """How to bin one view.

  Attributes:
    num_bins: Number of bins (>= 2).
    bin_width_factor: Bin width as a fraction of the period (global views) or
      of the duration (local views).
    num_durations: None for a global view (window [-P/2, P/2)); for a local
      view, the half window in durations, clipped to P/2.
    empty_bin_policy: "median" or "linear_interpolate".
    reject_sparse: Raise SparseLightCurveError on sparse windows (Triage rule).
    normalize: Subtract the median, then divide by |min|.
  """
  num_bins: int
  bin_width_factor: float
  num_durations: float | None = None
  empty_bin_policy: str = "median"
  reject_sparse: bool = False
  normalize: bool = True

  def __post_init__(self):
    if not isinstance(self.num_bins, (int, np.integer)) or self.num_bins < 2:
      raise errors.BinningError(
          "ViewConfig.num_bins must be an integer >= 2. Got: {!r}".format(
              self.num_bins))
    if not self.bin_width_factor > 0:
      raise errors.BinningError(
          "ViewConfig.bin_width_factor must be positive. Got: {!r}".format(
              self.bin_width_factor))
    if self.num_durations is not None and not self.num_durations > 0:
      raise errors.BinningError(
          "ViewConfig.num_durations must be positive. Got: {!r}".format(
              self.num_durations))
    if self.empty_bin_policy not in median_filter.EMPTY_BIN_POLICIES:
      raise errors.BinningError(
          "ViewConfig.empty_bin_policy must be one of {}. Got: {!r}".format(
              median_filter.EMPTY_BIN_POLICIES, self.empty_bin_policy))

  @property
  def is_local(self) -> bool:
    return self.num_durations is not None

  def window(self, period: float, duration: float | None) -> tuple[float, float]:
    """(t_min, t_max) of the view in days from the event centre."""
    half_period = period / 2
    if not self.is_local:
      return -half_period, half_period
    return (max(-half_period, -duration * self.num_durations),
            min(half_period, duration * self.num_durations))

  def bin_width(self, period: float, duration: float | None) -> float:
    """Bin width in days."""
    return (duration if self.is_local else period) * self.bin_width_factor

  def bin_centres(self, period: float, duration: float | None) -> np.ndarray:
    """Centre of each bin, days from the event centre: [num_bins].

    The bins are `bin_width` wide and evenly spaced so that the first starts at
    the window's left end and the last ends at its right end (median_filter).
    """
    t_min, t_max = self.window(period, duration)
    width = self.bin_width(period, duration)
    spacing = (t_max - t_min - width) / (self.num_bins - 1)
    return t_min + width / 2 + spacing * np.arange(self.num_bins)


KEPLER_GLOBAL_VIEW = ViewConfig(num_bins=2001, bin_width_factor=1 / 2001)
KEPLER_LOCAL_VIEW = ViewConfig(
    num_bins=201, bin_width_factor=0.16, num_durations=4)
TESS_GLOBAL_VIEW = ViewConfig(
    num_bins=201,
    bin_width_factor=1.2 / 201,
    empty_bin_policy="linear_interpolate",
    reject_sparse=True)
TESS_LOCAL_VIEW = ViewConfig(
    num_bins=61,
    bin_width_factor=0.16,
    num_durations=2,
    empty_bin_policy="linear_interpolate",
    reject_sparse=True)


def check_tce(period: float, duration: float | None = None,
              name: str = "TCE") -> None:
  """Validates a period and optional duration (days).

  Raises:
    InvalidTCEError: Non-finite or non-positive period or duration, or
      duration >= period.
  """
  if not (isinstance(period, (int, float, np.number)) and
          math.isfinite(period) and period > 0):
    raise errors.InvalidTCEError(
        "{}: period must be a positive number of days. Got: {!r}".format(
            name, period))
  if duration is None:
    return
  if not (isinstance(duration, (int, float, np.number)) and
          math.isfinite(duration) and duration > 0):
    raise errors.InvalidTCEError(
        "{}: duration must be a positive number of days. Got: {!r}".format(
            name, duration))
  if duration >= period:
    raise errors.InvalidTCEError(
        "{}: duration ({} d) must be less than period ({} d)".format(
            name, duration, period))


def phase_fold_and_sort_light_curve(time: np.ndarray, values: np.ndarray,
                                    period: float, t0: float):
  """Phase folds (t0 -> 0, into [-P/2, P/2)) and sorts by folded time.

  Args:
    time: 1D array of times (days).
    values: Array with len(values) == len(time).
    period: Folding period (days).
    t0: Event centre (days).

  Returns:
    folded_time, folded_values: sorted by folded_time.
  """
  check_tce(period)
  time = util.phase_fold_time(time, period, t0)
  sorted_i = np.argsort(time)
  return time[sorted_i], values[sorted_i]


def _check_light_curve(time: np.ndarray, values: np.ndarray) -> None:
  if len(time) == 0:
    raise errors.EmptyLightCurveError("Cannot make a view of an empty light curve")
  if len(time) != len(values):
    raise errors.BinningError(
        "time and values differ in length ({} vs {})".format(
            len(time), len(values)))
  bad = ~(np.isfinite(time) & np.isfinite(values))
  if np.any(bad):
    first = int(np.flatnonzero(bad)[0])
    raise errors.EmptyLightCurveError(
        "Light curve has {} non-finite time/flux values (first at index {}: "
        "time={}, flux={})".format(
            int(bad.sum()), first, time[first], values[first]))


def generate_view(time: np.ndarray,
                  values: np.ndarray,
                  num_bins: int,
                  bin_width: float,
                  t_min: float,
                  t_max: float,
                  normalize: bool = True,
                  empty_bin_policy: str = "median",
                  reject_sparse: bool = False) -> np.ndarray:
  """Bins a phase-folded light curve into one view.

  Args:
    time: 1D array of folded times (days), sorted ascending.
    values: 1D array of flux values.
    num_bins: Number of bins.
    bin_width: Bin width (days).
    t_min: Inclusive left end of the window (days).
    t_max: Exclusive right end of the window (days).
    normalize: Centre the median at 0 and the minimum at -1.
    empty_bin_policy: "median" (Kepler) or "linear_interpolate" (TESS).
    reject_sparse: Apply Triage's sparse-window rule.

  Returns:
    float64 array of shape [num_bins].

  Raises:
    EmptyLightCurveError: Empty input or non-finite values.
    SparseLightCurveError: reject_sparse and the window is sparse.
    BinningError: Invalid binning arguments.
    DegenerateViewError: The view is flat, so it cannot be normalised.
  """
  time = np.asarray(time)
  values = np.asarray(values)
  _check_light_curve(time, values)
  if num_bins < 2:
    raise errors.BinningError(
        "num_bins must be at least 2. Got: {}".format(num_bins))
  if reject_sparse:
    in_window = np.count_nonzero((time >= t_min) & (time <= t_max))
    if in_window < _MIN_POINTS_IN_WINDOW or time[-1] - time[0] < (t_max -
                                                                  t_min) / 2:
      raise errors.SparseLightCurveError(
          "Too few points near transit: {} points in window [{:.6g}, {:.6g}] d, "
          "data span {:.6g} d".format(in_window, t_min, t_max,
                                      time[-1] - time[0]))
  # Medians are taken in the flux dtype (float32 for Kepler FITS), then the
  # view is float64, as exoplanet-ml's bin_and_aggregate produced it.
  view = median_filter.median_filter(
      time, values, num_bins, bin_width, t_min, t_max,
      empty_bin_policy=empty_bin_policy).astype(np.float64)

  if normalize:
    view -= np.median(view, axis=0)
    scale = np.abs(np.min(view, axis=0))
    if not scale > 0:
      raise errors.DegenerateViewError(
          "Cannot normalise a flat view ({} bins over [{:.6g}, {:.6g}] d): "
          "min(view - median) = 0".format(num_bins, t_min, t_max))
    view /= scale
  return view


def view_from_config(time: np.ndarray, values: np.ndarray, period: float,
                     duration: float | None, config: ViewConfig) -> np.ndarray:
  """Generates the view described by `config` for one TCE.

  Args:
    time: Folded, sorted times (days).
    values: Flux values.
    period: Period (days).
    duration: Duration (days); required for local views.
    config: A `ViewConfig`.

  Returns:
    float64 array of shape [config.num_bins].
  """
  check_tce(period, duration if config.is_local else None)
  t_min, t_max = config.window(period, duration)
  return generate_view(
      time,
      values,
      num_bins=config.num_bins,
      bin_width=config.bin_width(period, duration),
      t_min=t_min,
      t_max=t_max,
      normalize=config.normalize,
      empty_bin_policy=config.empty_bin_policy,
      reject_sparse=config.reject_sparse)


def global_view(time: np.ndarray,
                values: np.ndarray,
                period: float,
                num_bins: int = 2001,
                bin_width_factor: float = 1 / 2001,
                config: ViewConfig | None = None) -> np.ndarray:
  """'Global view' over the whole period (Shallue & Vanderburg 2018, sec. 3.3).

  With `config`, num_bins and bin_width_factor are taken from it.
  """
  config = config or ViewConfig(num_bins, bin_width_factor)
  return view_from_config(time, values, period, None, config)


def local_view(time: np.ndarray,
               values: np.ndarray,
               period: float,
               duration: float,
               num_bins: int = 201,
               bin_width_factor: float = 0.16,
               num_durations: float = 4,
               config: ViewConfig | None = None) -> np.ndarray:
  """'Local view' of num_durations durations either side of the event.

  With `config`, the binning parameters are taken from it.
  """
  config = config or ViewConfig(num_bins, bin_width_factor, num_durations)
  return view_from_config(time, values, period, duration, config)
