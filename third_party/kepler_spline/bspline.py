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
  start = x.min()
  span = x.max() - start
  num = max(int(span / bkspace) + 1, 2)
  # pydl builds the points from a float32 index times the spacing; keep that
  # rounding so the break points (and the fit) are the same to the last bit.
  inner = np.arange(num, dtype=np.float32) * (span / float(num - 1)) + start
  inner[inner.argmin()] = min(inner.min(), x.min())
  inner[inner.argmax()] = max(inner.max(), x.max())
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
    result = self.values[0] * coefficients[self.first]
    for r in range(1, ORDER):
      result += self.values[r] * coefficients[self.first + r]
    return result


class NormalEquations:
  """The least-squares system of a basis and values y, for any subset of points.

  Every point's contributions to the banded normal matrix B^T B and to B^T y
  are computed once; a fit to a subset (an outlier-clipping pass) zeroes the
  others and sums. Adding exact zeros leaves the sums bit-identical to sums
  over the subset alone.
  """

  def __init__(self, basis: Basis, y: np.ndarray):
    self.basis = basis
    size = basis.num_coeffs + ORDER  # pydl pads the band by ORDER columns.
    r_index, d_index = _BAND_TERMS
    # Rows 0..9: band products b_r * b_(r+d) into band[d, first + r];
    # rows 10..13: b_r * y into rhs[first + r]. One bincount adds them all.
    self.products = np.concatenate([basis.values[r_index] * basis.values[r_index + d_index],
                                    basis.values * y])
    offsets = np.concatenate([d_index * size + r_index, ORDER * size + np.arange(ORDER)])
    self.columns = (basis.first + offsets[:, None]).ravel()
    self.grid_size = (ORDER + 1) * size

  def solve(self, mask: np.ndarray | None, bkspace: float) -> np.ndarray:
    """Coefficients of the least-squares fit to the points of `mask` (all if None).

    pydl weights every point by 1 / var(y); a uniform weight cancels out of
    the solution and out of pydl's support test (diagonal <= 1e-10 *
    sum(weights) / ncoeff), so unit weights give the same fit.

    Raises:
      BreakpointSpacingError: Some basis function has no data under it.
      NotPositiveDefiniteError: The normal matrix is numerically singular.
    """
    weights = self.products if mask is None else self.products * mask
    grid = np.bincount(self.columns, weights=weights.ravel(), minlength=self.grid_size)
    grid = grid.reshape(ORDER + 1, -1)
    num_coeffs = self.basis.num_coeffs
    band = grid[:ORDER, :num_coeffs]
    num_points = self.basis.first.size if mask is None else np.count_nonzero(mask)
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

  `fit_and_evaluate(mask)` equals `fit(x[mask], y[mask], bkspace).value(x)`;
  the basis and the normal-equation terms of all of x are computed once per
  knot vector and reused, since the knots change only when clipping removes
  the first or last point.
  """

  def __init__(self, x: np.ndarray, y: np.ndarray, bkspace: float):
    self.x, self.y, self.bkspace = np.asarray(x), np.asarray(y), bkspace
    self._system = None

  def fit_and_evaluate(self, mask: np.ndarray) -> np.ndarray:
    knots = breakpoints(self.x[mask], self.bkspace)
    if self._system is None or not np.array_equal(self._system.basis.knots, knots):
      self._system = NormalEquations(Basis(knots, self.x), self.y)
    coefficients = self._system.solve(mask, self.bkspace)
    return self._system.basis.evaluate(coefficients)
