"""Robust mean of normally distributed data with outliers.

A port of exoplanet-ml's `third_party/robust_mean`, itself a modified Python
version of the IDL astrolib `resistant_mean.pro`.
"""

from __future__ import annotations

import numpy as np

# Converts the median absolute deviation to the standard deviation of a normal
# distribution (MAD * 1.4826), and the mean absolute deviation likewise (1.253).
_MAD_TO_SIGMA = 1.4826
_MEAN_ABSDEV_TO_SIGMA = 1.253


def _trimmed_sigma_correction(cut: float) -> float:
  """Factor that undoes the shrinkage of sigma caused by trimming at `cut`."""
  sc = max(cut, 1.0)
  if sc <= 4.5:
    return -0.15405 + 0.90723 * sc - 0.23584 * sc**2 + 0.020142 * sc**3
  return 1.0


def _median(values: np.ndarray):
  """np.median of a 1D float array without NaNs, bit for bit, with less overhead.

  np.median partitions around the middle element(s) and averages the two middle
  ones of an even-length array as (a + b) / 2; so does this. It is called
  twice per outlier-clipping pass of every spline fit, where numpy's checks
  cost as much as the partition.
  """
  k = values.size // 2
  part = values.copy()  # np.partition's copy, without its argument handling
  if values.size % 2:
    part.partition(k)
    return part[k]
  part.partition((k - 1, k))
  return (part[k - 1] + part[k]) / 2


def _std(values: np.ndarray) -> float:
  """np.std of a 1D float64 array, bit for bit, at half its cost.

  The same operations as numpy's _var: pairwise sum / n for the mean, the
  squared deviations, pairwise sum / n, square root; without numpy's argument
  handling, which costs as much as the sums for the few thousand points of a
  spline segment (robust_mean runs twice per clipping pass).
  """
  n = values.size
  deviations = values - np.add.reduce(values) / n
  np.multiply(deviations, deviations, out=deviations)
  return np.sqrt(np.add.reduce(deviations) / n)


def inlier_mask(y: np.ndarray, cut: float) -> np.ndarray:
  """The mask of `robust_mean(y, cut)`: False where y is an outlier.

  The median absolute deviation from the median gives a first sigma; points
  within `cut` sigmas of the median give a second (their standard deviation,
  corrected for the trimming), and the points within `cut` of those sigmas
  are the inliers.

  Args:
    y: 1D array, assumed normally distributed with outliers.
    cut: Points more than this many standard deviations from the median are
      outliers.

  Returns:
    Boolean array, same length as y.
  """
  y = np.asarray(y)
  if y.ndim != 1 or not y.size or np.isnan(np.add.reduce(y, axis=None)):
    median = np.median(y)  # numpy's own handling of the unusual cases (NaN, inf - inf).
    absdev = np.abs(y - median)
    sigma = _MAD_TO_SIGMA * np.median(absdev)
  else:
    absdev = np.abs(y - _median(y))
    sigma = _MAD_TO_SIGMA * _median(absdev)
  # A zero MAD (more than half the points identical) falls back to the mean
  # absolute deviation.
  if sigma < 1.0e-24:
    sigma = _MEAN_ABSDEV_TO_SIGMA * np.mean(absdev)
  std = _std if y.dtype == np.float64 and y.ndim == 1 else np.std
  mask = absdev <= cut * sigma
  sigma = std(y[mask]) / _trimmed_sigma_correction(cut)
  return absdev <= cut * sigma


def robust_mean(y: np.ndarray, cut: float) -> tuple[float, float, np.ndarray]:
  """Computes a robust mean estimate in the presence of outliers.

  Args:
    y: 1D array, assumed normally distributed with outliers.
    cut: Points more than this many standard deviations from the median are
      ignored.

  Returns:
    mean: Robust estimate of the mean of y.
    mean_stddev: Standard deviation of that mean.
    mask: Boolean array, same length as y; False marks outliers (`inlier_mask`).
  """
  y = np.asarray(y)
  mask = inlier_mask(y, cut)
  # The inliers' sigma, corrected for the trimming, as in `inlier_mask`.
  sigma = np.std(y[mask]) / _trimmed_sigma_correction(cut)
  mean = np.mean(y[mask])
  mean_stddev = sigma / np.sqrt(len(y) - 1.0)
  return mean, mean_stddev, mask
