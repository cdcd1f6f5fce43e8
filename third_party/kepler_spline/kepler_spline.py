"""Normalisation splines for Kepler light curves.

A port of exoplanet-ml's `third_party/kepler_spline`, with the original's
outlier clipping, break-point-spacing search and BIC choice.

Each fit is done by `bspline.SegmentFitter`, a vectorised re-implementation of
the pydl `bspline.iterfit` call the original makes (same break points, same
single least-squares fit, same failure modes), which reuses work between the
clipping passes and the break-point spacings of a segment: `choose_kepler_spline`
is ~10x the original's speed. `backend="pydl"` runs pydl itself (the reference
for tests and benchmarks).

One deliberate difference: the original let any pydl failure other than
IndexError/TypeError escape (e.g. pydl's "could not broadcast input array from
shape (4,43) into shape (4,39)" on segments with clustered points), which killed
hours-long record-generation jobs. Here such a failure is confined to its
segment: `kepler_spline` raises `SegmentFitError`, and `choose_kepler_spline`
gives that segment a NaN spline (like a segment with too few points) and lists it
in `SplineMetadata.failed_segments`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from tf_util import errors
from third_party.kepler_spline import bspline
from third_party.robust_mean import robust_mean


class InsufficientPointsError(errors.AstronetError):
  """Fewer than 4 points were available for spline fitting."""


class SplineError(errors.AstronetError):
  """pydl could not fit the spline for this break-point spacing (too small)."""


class SegmentFitError(errors.AstronetError):
  """pydl failed on one segment for a reason other than the break-point spacing."""


BACKENDS = ("numpy", "pydl")
# Outlier threshold (robust sigmas) of the clipping passes: the original's default.
OUTLIER_CUT = 3


class FailedSegment(NamedTuple):
  """A segment whose fit failed inside pydl for one break-point spacing."""
  segment_index: int
  bkspace: float
  message: str


def kepler_spline(time: np.ndarray,
                  flux: np.ndarray,
                  bkspace: float = 1.5,
                  maxiter: int = 5,
                  outlier_cut: float = OUTLIER_CUT,
                  backend: str = "numpy") -> tuple[np.ndarray, np.ndarray]:
  """Computes a best-fit spline curve for one light-curve segment.

  The spline is fit iteratively: after each fit, points whose residual deviates
  from the median residual by at least `outlier_cut` robust sigmas are removed
  and the spline is refit, until the mask stops changing or `maxiter` fits.

  Args:
    time: 1D array of time values (days).
    flux: 1D array of flux values, same length.
    bkspace: Break-point spacing (days).
    maxiter: Maximum number of fits.
    outlier_cut: Outlier threshold in robust standard deviations.
    backend: "numpy" (`bspline.fit`) or "pydl" (the original's pydl iterfit).

  Returns:
    spline: Spline values at `time`.
    mask: Boolean mask of the points used in the final fit.

  Raises:
    InsufficientPointsError: Fewer than 4 points (before or after clipping).
    SplineError: pydl failed in the way too small a bkspace makes it fail.
    SegmentFitError: pydl failed in another way on this segment.
  """
  return _Segment(time, flux, backend).spline(bkspace, maxiter, outlier_cut)


class _Segment:
  """One segment, its time rescaled to [0, 1], and the fits made so far.

  Fitting one segment for several spacings through one `_Segment` gives the
  same results as separate `kepler_spline` calls; with the numpy backend,
  fits that are the same for two spacings (same knots, same points) and the
  clipping that follows them are computed once.
  """

  def __init__(self, time: np.ndarray, flux: np.ndarray, backend: str):
    if backend not in BACKENDS:
      raise ValueError("Unknown spline backend {!r}; expected one of {}".format(
          backend, BACKENDS))
    if len(time) < 4:
      raise InsufficientPointsError(
          "Cannot fit a spline on less than 4 points. Got {} points.".format(len(time)))
    self.num_points = len(time)
    self.flux = flux
    self.t_min, self.t_max = np.min(time), np.max(time)
    self.x = (time - self.t_min) / (self.t_max - self.t_min)
    self._fitter = bspline.SegmentFitter(self.x, flux) if backend == "numpy" else None
    self._next_masks = {}  # fit key -> the clipping mask its residuals give

  def spline(self, bkspace: float, maxiter: int, outlier_cut: float):
    """`kepler_spline` of this segment: (spline, mask); raises its errors."""
    bkspace = bkspace / (self.t_max - self.t_min)  # in units of the rescaled time
    if self._fitter is not None and self._fitter.begin_spacing(bkspace):
      self._next_masks.clear()
    spline = key = None
    mask = None
    for _ in range(maxiter):
      if spline is None:
        mask = np.ones(self.x.size, dtype=bool)
      else:
        new_mask = self._next_masks.get((key, outlier_cut)) if key else None
        if new_mask is None:
          new_mask = robust_mean.inlier_mask(self.flux - spline, cut=outlier_cut)
          if key:
            self._next_masks[(key, outlier_cut)] = new_mask
        if (new_mask == mask).all():
          break  # Converged.
        mask = new_mask

      num_points = np.count_nonzero(mask)
      if num_points < 4:
        # The outliers were such a large fraction of the segment that the
        # previous spline is probably junk too.
        raise InsufficientPointsError(
            "Cannot fit a spline on less than 4 points. After removing "
            "outliers, got {} points.".format(num_points))

      try:
        if self._fitter is not None:
          spline, key = self._fitter.fit_and_evaluate(mask, bkspace)
        else:
          spline = _fit_with_pydl(self.x, self.flux, mask, bkspace)
      except (IndexError, TypeError, bspline.BreakpointSpacingError) as e:
        raise SplineError(
            "Fitting spline failed with error: '{}'. This might be caused by the "
            "breakpoint spacing being too small, and/or there being insufficient "
            "points to fit the spline in one of the intervals.".format(e)) from e
      except Exception as e:  # pylint: disable=broad-except
        raise SegmentFitError(
            "pydl bspline.iterfit failed on a segment of {} points spanning "
            "[{:.6f}, {:.6f}] with bkspace {:.6g}: {}: {}".format(
                self.num_points, self.t_min, self.t_max,
                bkspace * (self.t_max - self.t_min), type(e).__name__, e)) from e

    return spline, mask


def _fit_with_pydl(time, flux, mask, bkspace):
  from pydl.pydlutils import bspline as pydl_bspline  # noqa: PLC0415  (optional backend (the original's fitter))
  with warnings.catch_warnings():
    # pydl warns freely; failures are reported through its exceptions.
    warnings.simplefilter("ignore")
    curve = pydl_bspline.iterfit(time[mask], flux[mask], bkspace=bkspace)[0]
    return curve.value(time)[0]


class SplineMetadata:
  """Metadata about a spline fit.

  Attributes:
    light_curve_mask: List of boolean arrays: the points used in the best fit.
    bkspace: Break-point spacing of the best fit (days).
    bad_bkspaces: Break-point spacings that raised SplineError.
    likelihood_term: -2 ln(L) term of the BIC.
    penalty_term: Parameter-count term of the BIC (before penalty_coeff).
    bic: likelihood_term + penalty_coeff * penalty_term.
    failed_segments: `FailedSegment`s, one per (segment, bkspace) that pydl
      failed on; those segments were skipped (NaN spline) for that bkspace.
  """

  def __init__(self):
    self.light_curve_mask = None
    self.bkspace = None
    self.bad_bkspaces = []
    self.likelihood_term = None
    self.penalty_term = None
    self.bic = None
    self.failed_segments = []


def _nan_spline(all_flux: Sequence[np.ndarray]) -> tuple[list, list]:
  return ([np.full(len(f), np.nan) for f in all_flux],
          [np.zeros_like(f, dtype=bool) for f in all_flux])


def choose_kepler_spline(all_time: Sequence[np.ndarray],
                         all_flux: Sequence[np.ndarray],
                         bkspaces: Sequence[float],
                         maxiter: int = 5,
                         penalty_coeff: float = 1.0,
                         verbose: bool = True,
                         backend: str = "numpy"):
  """Fits a spline per segment for each bkspace and keeps the lowest-BIC one.

  Args:
    all_time: List of 1D time arrays (days), one per segment.
    all_flux: List of 1D flux arrays.
    bkspaces: Break-point spacings to try (days).
    maxiter: Maximum number of fits per segment (outlier clipping passes).
    penalty_coeff: Weight of the parameter-count penalty in the BIC.
    verbose: Whether to warn about individual segment failures.
    backend: "numpy" or "pydl" (see `kepler_spline`).

  Returns:
    spline: List of arrays: the best spline per segment (NaN where none fit).
    metadata: `SplineMetadata`.
  """
  best_spline = None
  metadata = SplineMetadata()

  # White-noise sigma from the point-to-point scatter: if s[i] ~= s[i+1],
  # (f[i+1] - f[i]) / sqrt(2) ~ N(0, sigma^2). 1.48 converts MAD to sigma.
  scaled_diffs = [np.diff(f) / np.sqrt(2) for f in all_flux]
  scaled_diffs = np.concatenate(scaled_diffs) if scaled_diffs else np.array([])
  if not scaled_diffs.size:
    best_spline, metadata.light_curve_mask = _nan_spline(all_flux)
    return best_spline, metadata
  sigma = np.median(np.abs(scaled_diffs)) * 1.48

  segments = {}  # segment index -> _Segment, kept across spacings
  for bkspace in bkspaces:
    nparams = 0  # Free parameters of the piecewise spline.
    npoints = 0  # Points used in the fit.
    ssr = 0  # Sum of squared residuals.
    spline = []
    light_curve_mask = []
    bad_bkspace = False
    for segment_index, (time, flux) in enumerate(zip(all_time, all_flux)):
      try:
        if segment_index not in segments:
          segments[segment_index] = _Segment(time, flux, backend)
        spline_piece, mask = segments[segment_index].spline(bkspace, maxiter, OUTLIER_CUT)
      except (InsufficientPointsError, SegmentFitError) as e:
        # Expected now and then (e.g. after removing transits): skip the
        # segment but keep fitting the others.
        if isinstance(e, SegmentFitError):
          metadata.failed_segments.append(
              FailedSegment(segment_index, float(bkspace), str(e)))
        if verbose:
          warnings.warn(str(e), stacklevel=2)
        spline.append(np.full(len(flux), np.nan))
        light_curve_mask.append(np.zeros_like(flux, dtype=bool))
        continue
      except SplineError as e:
        # Expected for small bkspaces: skip this bkspace.
        if verbose:
          warnings.warn("Bad bkspace {}: {}".format(bkspace, e), stacklevel=2)
        metadata.bad_bkspaces.append(bkspace)
        bad_bkspace = True
        break

      spline.append(spline_piece)
      light_curve_mask.append(mask)

      segment = segments[segment_index]
      total_time = segment.t_max - segment.t_min
      nknots = int(total_time / bkspace) + 1  # As in the bspline implementation.
      nparams += nknots + 3 - 1  # knots + degree - 1
      npoints += np.count_nonzero(mask)
      ssr += np.sum((flux[mask] - spline_piece[mask])**2)

    if bad_bkspace or not npoints:
      continue

    # -2 ln(L) for iid Gaussian errors of standard deviation sigma.
    likelihood_term = npoints * np.log(2 * np.pi * sigma**2) + ssr / sigma**2
    penalty_term = nparams * np.log(npoints)
    bic = likelihood_term + penalty_coeff * penalty_term

    if best_spline is None or bic < metadata.bic:
      best_spline = spline
      metadata.light_curve_mask = light_curve_mask
      metadata.bkspace = bkspace
      metadata.likelihood_term = likelihood_term
      metadata.penalty_term = penalty_term
      metadata.bic = bic

  if best_spline is None:
    # Every bkspace failed, or every segment had too few points.
    best_spline, metadata.light_curve_mask = _nan_spline(all_flux)

  return best_spline, metadata


def fit_kepler_spline(all_time: Sequence[np.ndarray],
                      all_flux: Sequence[np.ndarray],
                      bkspace_min: float = 0.5,
                      bkspace_max: float = 20,
                      bkspace_num: int = 20,
                      maxiter: int = 5,
                      penalty_coeff: float = 1.0,
                      verbose: bool = True,
                      backend: str = "numpy"):
  """`choose_kepler_spline` over `bkspace_num` log-spaced spacings (days).

  Returns:
    spline: List of arrays, the best spline per segment.
    metadata: `SplineMetadata`.
  """
  bkspaces = np.logspace(
      np.log10(bkspace_min), np.log10(bkspace_max), num=bkspace_num)
  return choose_kepler_spline(
      all_time,
      all_flux,
      bkspaces,
      maxiter=maxiter,
      penalty_coeff=penalty_coeff,
      verbose=verbose,
      backend=backend)
