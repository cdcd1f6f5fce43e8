"""Vectorised least-squares cubic B-spline with pydl `bspline.iterfit` semantics.

exoplanet-ml fits its normalisation spline with `pydl.pydlutils.bspline.iterfit`
(a port of IDL idlutils). That code walks the points in Python loops (one to
find each point's knot interval, one per interval to accumulate the normal
equations, one per interval to evaluate), which makes the spline ~97% of the
cost of a Kepler TCE. This module computes the same fit with whole-array numpy:

* break points: `nbkpts = int(range / bkspace) + 1` evenly spaced over the data
  range, padded with 3 more on each side at the same spacing (as pydl);
* basis: the de Boor recursion (`bsplvn`) for all points at once;
* normal equations: the banded matrix assembled with `np.bincount` per
  diagonal, factorised with LAPACK's banded Cholesky (scipy), as pydl does;
* evaluation: one gather per basis function.

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
  return breakpoints_over(x.min(), x.max(), bkspace)


def breakpoints_over(start: float, stop: float, bkspace: float) -> np.ndarray:
  """`breakpoints` of data whose minimum is `start` and maximum `stop`."""
  span = stop - start
  num = max(int(span / bkspace) + 1, 2)
  # pydl builds the points from a float32 index times the spacing; keep that
  # rounding so the break points (and the fit) are the same to the last bit.
  inner = np.arange(num, dtype=np.float32) * (span / float(num - 1)) + start
  inner[inner.argmin()] = min(inner.min(), start)
  inner[inner.argmax()] = max(inner.max(), stop)
  step = (inner[1] - inner[0]) * np.float32(1.0)
  pad = np.arange(1, ORDER, dtype=np.float32)
  return np.concatenate([inner[0] - step * pad[::-1], inner, inner[-1] + step * pad])


def knot_intervals(knots: np.ndarray, x: np.ndarray) -> np.ndarray:
  """Index `i` of the knot interval of each x, clipped to the fitted range.

  The interval is the smallest i >= ORDER - 1 with x <= knots[i + 1] (points
  beyond the ends fall into the first or last interval, as in pydl's intrv).
  """
  last = knots.size - ORDER - 1
  first_not_below = np.searchsorted(knots, x, side="left")
  return np.clip(first_not_below - 1, ORDER - 1, last)


def basis_values(knots: np.ndarray, x: np.ndarray, left: np.ndarray) -> np.ndarray:
  """The ORDER non-zero B-spline values at each x: array [ORDER, len(x)].

  Row r is the basis function of coefficient `left - (ORDER - 1) + r`
  (de Boor's recursion, as pydl's bsplvn, on whole arrays).
  """
  values = [np.ones_like(x)]
  delta_right, delta_left = [], []
  for j in range(ORDER - 1):
    delta_right.append(knots[left + j + 1] - x)
    delta_left.append(x - knots[left - j])
    saved = 0.0
    for r in range(j + 1):
      term = values[r] / (delta_right[r] + delta_left[j - r])
      values[r] = term * delta_right[r] + saved
      saved = term * delta_left[j - r]
    values.append(saved)
  return np.stack(values)


# (r, d) of the band terms: basis r times basis r + d, d = 0..ORDER-1-r.
_BAND_TERMS = tuple(np.array(v) for v in zip(*[(r, d) for r in range(ORDER)
                                               for d in range(ORDER - r)]))
_PBTRF, _PBTRS = linalg.get_lapack_funcs(("pbtrf", "pbtrs"), dtype=np.float64)


class Basis:
  """Knot intervals and basis values of points x for one knot vector."""

  def __init__(self, knots: np.ndarray, x: np.ndarray):
    self.knots = knots
    self.first = knot_intervals(knots, x) - (ORDER - 1)
    self.values = basis_values(knots, x, self.first + (ORDER - 1))

  @property
  def num_coeffs(self) -> int:
    return self.knots.size - ORDER

  def evaluate(self, coefficients: np.ndarray) -> np.ndarray:
    # One gather of the ORDER coefficients under each point; the sum over
    # axis 0 adds the rows in order, as a running sum would.
    gathered = coefficients[self.first + np.arange(ORDER)[:, None]]
    return np.add.reduce(self.values * gathered, axis=0)


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
    self.products = np.concatenate([basis.values[r_index] * basis.values[r_index + d_index],
                                    basis.values * y])
    self.offsets = np.concatenate([d_index * size + r_index, ORDER * size + np.arange(ORDER)])
    self.grid_size = (ORDER + 1) * size
    # Points in the same knot interval add into the same cells: sum each run
    # of equal intervals (contiguous when x is sorted, as pydl assumes: then
    # these are pydl's per-interval sums), then add the runs into the grid.
    first = basis.first
    starts = np.flatnonzero(first[1:] != first[:-1]) + 1
    starts = np.concatenate([[0], starts]) if first.size else starts
    run_sums = np.add.reduceat(self.products, starts, axis=1) if first.size else self.products
    self.full_grid = self._scatter(first[starts], run_sums)
    self._full_finite = bool(np.isfinite(np.add.reduce(self.full_grid)))
    # The diagonal and the right-hand side in the flat grid.
    self._kept_rows = (slice(0, basis.num_coeffs),
                       slice(ORDER * size, ORDER * size + basis.num_coeffs))

  def _scatter(self, first: np.ndarray, terms: np.ndarray) -> np.ndarray:
    """Sums of `terms` [14, n] of points with knot intervals `first` in the grid."""
    columns = (first + self.offsets[:, None]).ravel()
    return np.bincount(columns, weights=terms.ravel(), minlength=self.grid_size)

  def _grid(self, mask: np.ndarray | None) -> tuple[np.ndarray, int]:
    """(grid of the points in mask, their number)."""
    num_points = self.basis.first.size
    if mask is None:
      return self.full_grid, num_points
    excluded = np.flatnonzero(~mask)
    if not excluded.size:
      return self.full_grid, num_points
    if self._full_finite and excluded.size * 4 < num_points:
      removed = self._scatter(self.basis.first[excluded], self.products[:, excluded])
      if all(np.all(np.abs(removed[rows]) <=
                    (1 - _MIN_KEPT_FRACTION) * np.abs(self.full_grid[rows]))
             for rows in self._kept_rows):
        return self.full_grid - removed, num_points - excluded.size
    included = np.flatnonzero(mask)
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
    unsupported = np.flatnonzero(band[0] <= 1.0e-10 * num_points / num_coeffs)
    if unsupported.size or not np.all(np.isfinite(grid)):
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


class MaskedFitter:
  """Repeated fits to subsets of one segment (the outlier-clipping passes).

  `fit_and_evaluate(mask)` equals `fit(x[mask], y[mask], bkspace).value(x)`
  (to ~1e-15 relative: see `NormalEquations`); the basis and the
  normal-equation sums of all of x are computed once per knot vector and
  reused, since the knots change only when clipping removes the first or last
  point.
  """

  def __init__(self, x: np.ndarray, y: np.ndarray, bkspace: float):
    self.x, self.y, self.bkspace = np.asarray(x), np.asarray(y), bkspace
    # In sorted x the extremes of x[mask] are its first and last points.
    self._sorted = bool(np.all(self.x[1:] >= self.x[:-1]))
    self._system = None
    self._range = None

  def _masked_range(self, mask: np.ndarray) -> tuple[float, float]:
    if self._sorted:
      return self.x[mask.argmax()], self.x[mask.size - 1 - mask[::-1].argmax()]
    masked = self.x[mask]
    return masked.min(), masked.max()

  def fit_and_evaluate(self, mask: np.ndarray) -> np.ndarray:
    data_range = self._masked_range(mask)
    if self._system is None or data_range != self._range:
      knots = breakpoints_over(*data_range, self.bkspace)
      self._system = NormalEquations(Basis(knots, self.x), self.y)
      self._range = data_range
    coefficients = self._system.solve(mask, self.bkspace)
    return self._system.basis.evaluate(coefficients)
