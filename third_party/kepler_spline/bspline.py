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


class Basis:
  """Knot intervals and basis values of points x for one knot vector.

  Kept between the outlier-clipping passes of one segment: the basis of a
  subset of the points is the same rows (`subset`), so it is computed once.
  """

  def __init__(self, knots: np.ndarray, x: np.ndarray):
    self.knots = knots
    self.first = knot_intervals(knots, x) - (ORDER - 1)
    self.values = basis_values(knots, x, self.first + (ORDER - 1))

  def subset(self, mask: np.ndarray) -> "Basis":
    part = object.__new__(Basis)
    part.knots, part.first, part.values = self.knots, self.first[mask], self.values[:, mask]
    return part

  def evaluate(self, coefficients: np.ndarray) -> np.ndarray:
    result = self.values[0] * coefficients[self.first]
    for r in range(1, ORDER):
      result += self.values[r] * coefficients[self.first + r]
    return result


class CubicBSpline:
  """A fitted cubic B-spline: `knots` (full vector) and `coefficients`."""

  def __init__(self, knots: np.ndarray, coefficients: np.ndarray):
    self.knots = knots
    self.coefficients = coefficients

  def value(self, x: np.ndarray) -> np.ndarray:
    """Spline values at x (any order; points outside extrapolate the end pieces)."""
    return Basis(self.knots, np.asarray(x)).evaluate(self.coefficients)


def solve(basis: Basis, y: np.ndarray, bkspace: float) -> np.ndarray:
  """Least-squares coefficients of the spline of `basis` through values y.

  Weights are uniform, 1 / var(y) (IDL's variance, n - 1) in y's dtype, as
  pydl's iterfit uses when given no inverse variance.

  Raises:
    BreakpointSpacingError: Some basis function has no data under it.
    NotPositiveDefiniteError: The normal matrix is numerically singular.
  """
  n = y.size
  var = y.var() * (float(n) / float(n - 1))
  if var == 0:
    var = 1.0
  invvar = np.ones(y.shape, dtype=y.dtype) / var
  num_coeffs = basis.knots.size - ORDER
  size = num_coeffs + ORDER  # pydl pads the band by ORDER columns.
  weighted = basis.values * invvar
  # Lower-band storage: band[d, c] = A[c + d, c] with A = B^T W B, and the
  # right-hand side B^T W y, accumulated in one bincount: term k adds
  # products[k] at column first + r into row `rows[k]` of a (ORDER + 1, size) grid.
  r_index, d_index = _BAND_TERMS
  products = np.concatenate([basis.values[r_index] * weighted[r_index + d_index],
                             y * weighted])
  offsets = np.concatenate([d_index * size + r_index, ORDER * size + np.arange(ORDER)])
  columns = (basis.first + offsets[:, None]).ravel()
  grid = np.bincount(columns, weights=products.ravel(), minlength=(ORDER + 1) * size)
  grid = grid.reshape(ORDER + 1, size)
  band, rhs = grid[:ORDER], grid[ORDER]

  min_influence = 1.0e-10 * invvar.sum() / num_coeffs
  unsupported = np.flatnonzero(band[0, :num_coeffs] <= min_influence)
  if unsupported.size or not np.all(np.isfinite(band)):
    if basis.knots.size <= 2 * ORDER:
      # pydl gives up with its coefficients still zero (only 2 break points).
      return np.zeros(num_coeffs)
    raise BreakpointSpacingError(
        "no data under basis function(s) {} of {} (break-point spacing {:.6g} "
        "too small for these points)".format(unsupported.tolist(), num_coeffs, bkspace))
  try:
    factor = linalg.cholesky_banded(band[:, :num_coeffs], lower=True, check_finite=False)
  except linalg.LinAlgError as e:
    raise NotPositiveDefiniteError(
        "B-spline normal matrix ({} coefficients) is not positive definite ({}); "
        "pydl failed here with 'could not broadcast input array'".format(
            num_coeffs, e)) from e
  return linalg.cho_solve_banded((factor, True), rhs[:num_coeffs], check_finite=False)


def fit(x: np.ndarray, y: np.ndarray, bkspace: float) -> CubicBSpline:
  """Least-squares cubic B-spline through (x, y), like pydl's `iterfit`.

  Args:
    x: 1D abscissae (any order; the Kepler code passes time rescaled to [0, 1]).
    y: 1D values, same length (flux; float32 or float64).
    bkspace: Break-point spacing in units of x.

  Returns:
    The fitted spline.

  Raises:
    BreakpointSpacingError, NotPositiveDefiniteError: see `solve`.
  """
  x = np.asarray(x)
  knots = breakpoints(x, bkspace)
  return CubicBSpline(knots, solve(Basis(knots, x), np.asarray(y), bkspace))


class MaskedFitter:
  """Repeated fits to subsets of one segment (the outlier-clipping passes).

  `fit_and_evaluate(mask)` equals `fit(x[mask], y[mask], bkspace).value(x)`;
  the basis at all of x is computed once per knot vector and reused, since
  the knots change only when clipping removes the first or last point.
  """

  def __init__(self, x: np.ndarray, y: np.ndarray, bkspace: float):
    self.x, self.y, self.bkspace = np.asarray(x), np.asarray(y), bkspace
    self._basis = None

  def fit_and_evaluate(self, mask: np.ndarray) -> np.ndarray:
    knots = breakpoints(self.x[mask], self.bkspace)
    if self._basis is None or not np.array_equal(self._basis.knots, knots):
      self._basis = Basis(knots, self.x)
    coefficients = solve(self._basis.subset(mask), self.y[mask], self.bkspace)
    return self._basis.evaluate(coefficients)
