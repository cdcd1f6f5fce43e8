"""Vectorised least-squares cubic B-spline with pydl `bspline.iterfit` semantics.

exoplanet-ml fits its normalisation spline with `pydl.pydlutils.bspline.iterfit`
(a port of IDL idlutils). That code walks the points in Python loops (one to
find each point's knot interval, one per interval to accumulate the normal
equations, one per interval to evaluate), which makes the spline ~97% of the
cost of a Kepler TCE. This module computes the same fit with whole-array numpy:

* break points: `nbkpts = int(range / bkspace) + 1` evenly spaced over the data
  range, padded with 3 more on each side at the same spacing (as pydl);
* basis: the de Boor recursion (`bsplvn`) for all points at once;
* normal equations: every point's band products summed per knot interval
  (`np.add.reduceat`, pydl's per-interval sums) and added into the band
  (`np.bincount`), factorised with LAPACK's banded Cholesky (scipy), as pydl
  does;
* evaluation: one gather of the coefficients under each point.

The Kepler spline refits each segment to subsets of its points (outlier
clipping) for 20 break-point spacings. `SegmentFitter` makes that cheap: the
sums over all points are computed once per knot vector, a subset's are the
full sums minus the few excluded points' (`NormalEquations`), and spacings
that give the same knots share their fits.

pydl behaviours kept on purpose, because the spline-selection logic depends
on them:

* `iterfit` stops after its first successful fit: its loop tests
  `qdone == -1` but `djs_reject` returns a bool, so the 5-sigma rejection it
  computes is never used for a refit. One fit is done here.
* A basis function with (almost) no data under it — a diagonal of the normal
  matrix at or below `1e-10 * sum(invvar) / ncoeff` — makes pydl raise an
  IndexError in `maskpoints`, which the original treats as "bkspace too
  small". Here that is `BreakpointSpacingError`. With only 2 break points pydl
  instead returns an all-zero spline; so does this module.
* When LAPACK finds the matrix not positive definite, pydl fails with a
  ValueError ("could not broadcast input array ..."); here that is
  `NotPositiveDefiniteError`.

The result agrees with pydl to ~1e-12 relative (summation order differs).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

ORDER = 4  # Cubic B-splines (pydl's default nord).


class BreakpointSpacingError(ValueError):
  """A basis function has no data under it: the break points are too dense."""


class NotPositiveDefiniteError(ValueError):
  """LAPACK's banded Cholesky found the normal matrix not positive definite."""


def breakpoints(x: np.ndarray, bkspace: float) -> np.ndarray:
  """Full break-point vector for data `x` and spacing `bkspace` (units of x).

  `int(range / bkspace) + 1` points (at least 2) evenly spread from min(x) to
  max(x), plus ORDER - 1 points beyond each end at the same spacing.
  """
  start, stop = x.min(), x.max()
  return _breakpoints(start, stop, num_breakpoints(stop - start, bkspace))


# Multiples of the spacing of the ORDER - 1 padding points beyond each end.
_PAD = np.arange(1, ORDER, dtype=np.float32)


def num_breakpoints(span: float, bkspace: float) -> int:
  """Break points (before padding) over data spanning `span`, as pydl: at least 2."""
  return max(int(span / bkspace) + 1, 2)


def _breakpoints(start: float, stop: float, num: int) -> np.ndarray:
  """`num` break points from `start` to `stop` (the data range), padded; the
  knots depend on the spacing only through `num`."""
  span = stop - start
  # pydl builds the points from a float32 index times the spacing; keep that
  # rounding so the break points (and the fit) are the same to the last bit.
  inner = np.arange(num, dtype=np.float32) * (span / float(num - 1)) + start
  # pydl sets the (first) smallest point to min(it, start) and then the
  # (first) largest to max(it, stop); the points are ascending, so the
  # smallest is the first one.
  inner[0] = min(inner[0], start)
  top = inner.argmax()
  inner[top] = max(inner[top], stop)
  step = (inner[1] - inner[0]) * np.float32(1.0)
  knots = np.empty(num + 2 * (ORDER - 1), dtype=np.result_type(inner, step))
  knots[:ORDER - 1] = inner[0] - step * _PAD[::-1]
  knots[ORDER - 1:num + ORDER - 1] = inner
  knots[num + ORDER - 1:] = inner[-1] + step * _PAD
  return knots


def knot_intervals(knots: np.ndarray, x: np.ndarray, sorted_x: bool = False) -> np.ndarray:
  """Index `i` of the knot interval of each x, clipped to the fitted range.

  The interval is the smallest i >= ORDER - 1 with x <= knots[i + 1] (points
  beyond the ends fall into the first or last interval, as in pydl's intrv).
  `sorted_x`: x is in ascending order (no NaN), which allows a faster search.
  """
  last = knots.size - ORDER - 1
  if not sorted_x:
    first_not_below = np.searchsorted(knots, x, side="left")
    return np.clip(first_not_below - 1, ORDER - 1, last)
  # Sorted x: the points of each interval are a run, found by searching the
  # few knots among the points (the same comparisons, far fewer of them).
  bounds = np.empty(knots.size + 2, dtype=np.intp)
  bounds[0], bounds[-1] = 0, x.size
  bounds[1:-1] = x.searchsorted(knots, side="right")
  intervals = np.arange(-1, knots.size)
  np.minimum(np.maximum(intervals, ORDER - 1, out=intervals), last, out=intervals)
  return intervals.repeat(bounds[1:] - bounds[:-1])


def basis_values(knots: np.ndarray, x: np.ndarray, left: np.ndarray) -> np.ndarray:
  """The ORDER non-zero B-spline values at each x: array [ORDER, len(x)].

  Row r is the basis function of coefficient `left - (ORDER - 1) + r`
  (de Boor's recursion, as pydl's bsplvn, on whole arrays).
  """
  index = np.arange(knots.size) + _NEIGHBOUR_SHIFTS
  np.minimum(np.maximum(index, 0, out=index), knots.size - 1, out=index)
  neighbours = knots[index].take(left, axis=1)
  values = [np.ones(x.shape, dtype=x.dtype)]
  delta_right, delta_left = [], []
  for j in range(ORDER - 1):
    delta_right.append(neighbours[j] - x)
    delta_left.append(x - neighbours[ORDER - 1 + j])
    saved = None
    for r in range(j + 1):
      term = values[r] / (delta_right[r] + delta_left[j - r])
      # bsplvn adds saved = 0.0 for r = 0, which changes nothing but the sign
      # of a -0.0 (only possible when extrapolating beyond the knots).
      values[r] = term * delta_right[r] if saved is None else term * delta_right[r] + saved
      saved = term * delta_left[j - r]
    values.append(saved)
  result = np.empty((ORDER, x.size), dtype=values[0].dtype)
  for r, row in enumerate(values):
    result[r] = row
  return result


# (r, d) of the band terms: basis r times basis r + d, d = 0..ORDER-1-r.
_BAND_TERMS = tuple(np.array(v) for v in zip(*[(r, d) for r in range(ORDER)
                                               for d in range(ORDER - r)]))
# Grid cell of each product row (band terms, then b_r * y in row ORDER) for a
# point in interval `first`: row * size + first + column offset.
_GRID_ROWS = np.concatenate([_BAND_TERMS[1], np.full(ORDER, ORDER)])[:, None]
_GRID_COLUMNS = np.concatenate([_BAND_TERMS[0], np.arange(ORDER)])[:, None]
# Row j: knots[i + j + 1] (j < ORDER - 1), then knots[i - j]: the knots de
# Boor's recursion needs around interval i.
_NEIGHBOUR_SHIFTS = np.concatenate([np.arange(1, ORDER), -np.arange(ORDER - 1)])[:, None]
_PBTRF, _PBTRS = linalg.get_lapack_funcs(("pbtrf", "pbtrs"), dtype=np.float64)


class Basis:
  """Knot intervals and basis values of points x for one knot vector."""

  def __init__(self, knots: np.ndarray, x: np.ndarray, sorted_x: bool = False):
    self.knots = knots
    self.first = knot_intervals(knots, x, sorted_x) - (ORDER - 1)
    self.values = basis_values(knots, x, self.first + (ORDER - 1))
    # [ORDER, len(x)]: the coefficients under each point, for evaluate.
    self._coefficient_index = self.first + np.arange(ORDER)[:, None]

  @property
  def num_coeffs(self) -> int:
    return self.knots.size - ORDER

  def evaluate(self, coefficients: np.ndarray) -> np.ndarray:
    # One gather of the ORDER coefficients under each point; the sum over
    # axis 0 adds the rows in order, as a running sum would.
    products = coefficients.take(self._coefficient_index)
    np.multiply(self.values, products, out=products)
    return np.add.reduce(products, axis=0)


# Downdating (full sums minus the excluded points' terms) is used while every
# diagonal and right-hand-side sum keeps at least this fraction of its full
# value: the rounding error of the difference then stays within a small factor
# of a direct sum's, so the fit agrees with a direct one to ~1e-15 relative.
_MIN_KEPT_FRACTION = 0.5


class NormalEquations:
  """The least-squares system of a basis and values y, for any subset of points.

  Every point's contributions to the banded normal matrix B^T B and to B^T y
  are computed once and summed over all points. A fit to a subset (an
  outlier-clipping pass, which removes a few per cent of the points)
  subtracts the sums over the excluded points from the full sums, when that is
  numerically safe (`_MIN_KEPT_FRACTION`), and sums the subset directly
  otherwise.
  """

  def __init__(self, basis: Basis, y: np.ndarray):
    self.basis = basis
    size = basis.num_coeffs + ORDER  # pydl pads the band by ORDER columns.
    r_index, d_index = _BAND_TERMS
    # Rows 0..9: band products b_r * b_(r+d) into band[d, first + r];
    # rows 10..13: b_r * y into rhs[first + r].
    values = basis.values
    self.products = np.empty((r_index.size + ORDER, values.shape[1]))
    for row, (r, d) in enumerate(zip(r_index, d_index)):
      np.multiply(values[r], values[r + d], out=self.products[row])
    np.multiply(values, y, out=self.products[r_index.size:])
    self.offsets = _GRID_ROWS * size + _GRID_COLUMNS
    self.grid_size = (ORDER + 1) * size
    # Points in the same knot interval add into the same cells: sum each run
    # of equal intervals (contiguous when x is sorted, as pydl assumes: then
    # these are pydl's per-interval sums), then add the runs into the grid.
    first = basis.first
    run_start = np.empty(first.size, dtype=bool)
    run_start[:1] = True
    np.not_equal(first[1:], first[:-1], out=run_start[1:])
    starts = run_start.nonzero()[0]
    run_sums = np.add.reduceat(self.products, starts, axis=1) if first.size else self.products
    self.full_grid = self._scatter(first[starts], run_sums)
    self._full_finite = bool(np.isfinite(np.add.reduce(self.full_grid)))
    # The most a subset may remove from each diagonal and right-hand-side sum
    # for downdating (no limit on the off-diagonal sums).
    self._removable = np.full(self.full_grid.size, np.inf)
    for row in (0, ORDER):
      cells = slice(row * size, (row + 1) * size)
      self._removable[cells] = (1 - _MIN_KEPT_FRACTION) * np.abs(self.full_grid[cells])

  def _scatter(self, first: np.ndarray, terms: np.ndarray) -> np.ndarray:
    """Sums of `terms` [14, n] of points with knot intervals `first` in the grid."""
    columns = (first + self.offsets).ravel()
    return np.bincount(columns, weights=terms.ravel(), minlength=self.grid_size)

  def _grid(self, mask: np.ndarray | None) -> tuple[np.ndarray, int]:
    """(grid of the points in mask, their number)."""
    num_points = self.basis.first.size
    if mask is None:
      return self.full_grid, num_points
    excluded = (~mask).nonzero()[0]
    if not excluded.size:
      return self.full_grid, num_points
    if self._full_finite and excluded.size * 4 < num_points:
      removed = self._scatter(self.basis.first[excluded], self.products[:, excluded])
      if np.all(np.abs(removed) <= self._removable):
        return self.full_grid - removed, num_points - excluded.size
    included = mask.nonzero()[0]
    return (self._scatter(self.basis.first[included], self.products[:, included]),
            included.size)

  def solve(self, mask: np.ndarray | None, bkspace: float) -> np.ndarray:
    """Coefficients of the least-squares fit to the points of `mask` (all if None).

    pydl weights every point by 1 / var(y); a uniform weight cancels out of
    the solution and out of pydl's support test (diagonal <= 1e-10 *
    sum(weights) / ncoeff), so unit weights give the same fit.

    Raises:
      BreakpointSpacingError: Some basis function has no data under it.
      NotPositiveDefiniteError: The normal matrix is numerically singular.
    """
    grid, num_points = self._grid(mask)
    grid = grid.reshape(ORDER + 1, -1)
    num_coeffs = self.basis.num_coeffs
    band = grid[:ORDER, :num_coeffs]
    unsupported = band[0] <= 1.0e-10 * num_points / num_coeffs
    if unsupported.any() or not np.isfinite(grid).all():
      unsupported = unsupported.nonzero()[0]
      if self.basis.knots.size <= 2 * ORDER:
        # pydl gives up with its coefficients still zero (only 2 break points).
        return np.zeros(num_coeffs)
      raise BreakpointSpacingError(
          "no data under basis function(s) {} of {} (break-point spacing {:.6g} "
          "too small for these points)".format(unsupported.tolist(), num_coeffs, bkspace))
    # LAPACK's banded Cholesky, as scipy's cholesky_banded / cho_solve_banded
    # that pydl calls, without their per-call checks.
    factor, info = _PBTRF(band, lower=1)
    if info != 0:
      raise NotPositiveDefiniteError(
          "B-spline normal matrix ({} coefficients) is not positive definite (leading "
          "minor {}); pydl failed here with 'could not broadcast input array'".format(
              num_coeffs, info))
    coefficients, info = _PBTRS(factor, grid[ORDER, :num_coeffs], lower=1)
    if info != 0:
      raise NotPositiveDefiniteError("LAPACK pbtrs failed (info {})".format(info))
    return coefficients


class CubicBSpline:
  """A fitted cubic B-spline: `knots` (full vector) and `coefficients`."""

  def __init__(self, knots: np.ndarray, coefficients: np.ndarray):
    self.knots = knots
    self.coefficients = coefficients

  def value(self, x: np.ndarray) -> np.ndarray:
    """Spline values at x (any order; points outside extrapolate the end pieces)."""
    return Basis(self.knots, np.asarray(x)).evaluate(self.coefficients)


def fit(x: np.ndarray, y: np.ndarray, bkspace: float) -> CubicBSpline:
  """Least-squares cubic B-spline through (x, y), like pydl's `iterfit`.

  Args:
    x: 1D abscissae (any order; the Kepler code passes time rescaled to [0, 1]).
    y: 1D values, same length (flux; float32 or float64).
    bkspace: Break-point spacing in units of x.

  Returns:
    The fitted spline.

  Raises:
    BreakpointSpacingError, NotPositiveDefiniteError: see `NormalEquations.solve`.
  """
  x = np.asarray(x)
  knots = breakpoints(x, bkspace)
  system = NormalEquations(Basis(knots, x), np.asarray(y))
  return CubicBSpline(knots, system.solve(None, bkspace))


class SegmentFitter:
  """Fits of one segment to subsets of its points, for any break-point spacing.

  `fit_and_evaluate(mask, bkspace)` equals `fit(x[mask], y[mask], bkspace).value(x)`
  (to ~1e-15 relative: see `NormalEquations`). The knots depend on the
  spacing only through the data range and `num_breakpoints`, so the basis and
  normal-equation sums of all of x are computed once per knot vector, for all
  spacings (the Kepler spline tries 20 per segment, and the largest often give
  the same knots) and all clipping passes (the knots change only when clipping
  removes the first or last point); and each subset is fitted once per knot
  vector.
  """

  def __init__(self, x: np.ndarray, y: np.ndarray):
    self.x, self.y = np.asarray(x), np.asarray(y)
    # In sorted x the extremes of x[mask] are its first and last points.
    self._sorted = bool(np.all(self.x[1:] >= self.x[:-1]))
    self._systems = {}  # knots key -> NormalEquations
    self._fits = {}  # (knots key, mask bytes) -> spline values
    self._initial_key = None  # knots key of all points at the current spacing

  def begin_spacing(self, bkspace: float) -> bool:
    """Starts the fits of one spacing; returns whether earlier fits were dropped.

    Spacings share fits only when they give all the points the same knots, and
    such spacings are neighbours in a sorted list of spacings (the break-point
    count falls as the spacing grows). Fits made under other knots are dropped,
    so that memory holds about one spacing's fits, not all of them.
    """
    try:
      key = self._knots_key(np.ones(self.x.size, dtype=bool), bkspace)
    except (ValueError, OverflowError):  # NaN or infinite range or spacing
      key = None  # the fit reports it, as pydl's does
    if key is not None and key == self._initial_key:
      return False
    self._systems.clear()
    self._fits.clear()
    self._initial_key = key
    return True

  def _knots_key(self, mask: np.ndarray, bkspace: float) -> tuple[float, float, int]:
    if self._sorted:
      start, stop = self.x[mask.argmax()], self.x[mask.size - 1 - mask[::-1].argmax()]
    else:
      masked = self.x[mask]
      start, stop = masked.min(), masked.max()
    return start, stop, num_breakpoints(stop - start, bkspace)

  def fit_and_evaluate(self, mask: np.ndarray, bkspace: float) -> tuple[np.ndarray, tuple]:
    """(spline values at all x, a key naming this fit: equal keys, equal fits).

    The values are shared between equal fits: do not modify them.

    Raises:
      BreakpointSpacingError, NotPositiveDefiniteError: see `NormalEquations.solve`.
    """
    knots_key = self._knots_key(mask, bkspace)
    key = (knots_key, mask.tobytes())
    values = self._fits.get(key)
    if values is None:
      system = self._systems.get(knots_key)
      if system is None:
        system = NormalEquations(Basis(_breakpoints(*knots_key), self.x, self._sorted),
                                 self.y)
        self._systems[knots_key] = system
      # Failures are not kept: their messages name the spacing.
      values = system.basis.evaluate(system.solve(mask, bkspace))
      self._fits[key] = values
    return values, key
