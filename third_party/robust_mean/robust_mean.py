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


def robust_mean(y: np.ndarray, cut: float) -> tuple[float, float, np.ndarray]:
  """Computes a robust mean estimate in the presence of outliers.

  Args:
    y: 1D array, assumed normally distributed with outliers.
    cut: Points more than this many standard deviations from the median are
      ignored.

  Returns:
    mean: Robust estimate of the mean of y.
    mean_stddev: Standard deviation of that mean.
    mask: Boolean array, same length as y; False marks outliers.
  """
  absdev = np.abs(y - np.median(y))
  sigma = _MAD_TO_SIGMA * np.median(absdev)
  # A zero MAD (more than half the points identical) falls back to the mean
  # absolute deviation.
  if sigma < 1.0e-24:
    sigma = _MEAN_ABSDEV_TO_SIGMA * np.mean(absdev)

  # Two rounds: clip with the current sigma, re-estimate sigma from the
  # survivors and correct it for the trimming.
  correction = _trimmed_sigma_correction(cut)
  mask = absdev <= cut * sigma
  sigma = np.std(y[mask]) / correction
  mask = absdev <= cut * sigma
  sigma = np.std(y[mask]) / correction

  mean = np.mean(y[mask])
  mean_stddev = sigma / np.sqrt(len(y) - 1.0)
  return mean, mean_stddev, mask
