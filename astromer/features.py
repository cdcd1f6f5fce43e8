"""Hand-made variability features for the non-neural baseline classifier.

Per light curve (time in days, magnitudes): the Lomb-Scargle period
(log10 days) and its peak power, amplitude (half the 5-95 % magnitude range),
standard deviation, skewness, kurtosis, fraction of points beyond 1 sigma,
fraction brighter than the median, and the median error relative to the
standard deviation. FEATURE_NAMES names the columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FEATURE_NAMES = ("log10_period_days", "periodogram_power", "amplitude_mag", "std_mag", "skewness",
                 "kurtosis", "beyond_1std", "frac_brighter_than_median", "median_err_over_std")


def lomb_scargle_period(time: np.ndarray, mag: np.ndarray, err: np.ndarray,
                        min_period: float = 0.02, max_period: float = 10.0,
                        oversampling: int = 5) -> tuple[float, float]:
  """(best period in days, its normalised power) over [min_period, max_period] days."""
  from astropy.timeseries import LombScargle  # noqa: PLC0415  (astropy: only this function needs it)
  periodogram = LombScargle(time, mag, err)
  frequency, power = periodogram.autopower(minimum_frequency=1.0 / max_period,
                                           maximum_frequency=1.0 / min_period,
                                           samples_per_peak=oversampling)
  best = int(np.argmax(power))
  return 1.0 / float(frequency[best]), float(power[best])


def light_curve_features(light_curve: np.ndarray) -> np.ndarray:
  """FEATURE_NAMES of one (L, 3) light curve [time (days), magnitude, error]."""
  time, mag, err = (np.asarray(light_curve, np.float64)[:, i] for i in range(3))
  err = np.where(err > 0, err, np.median(err[err > 0]) if np.any(err > 0) else 1.0)
  period, power = lomb_scargle_period(time, mag, err)
  centred = mag - mag.mean()
  std = centred.std()
  scale = std if std > 0 else 1.0
  low, high = np.percentile(mag, [5, 95])
  return np.array([
      np.log10(period), power, 0.5 * (high - low), std,
      np.mean(centred**3) / scale**3, np.mean(centred**4) / scale**4 - 3.0,
      np.mean(np.abs(centred) > std), np.mean(mag < np.median(mag)), np.median(err) / scale,
  ])


def feature_matrix(light_curves: Sequence[np.ndarray]) -> np.ndarray:
  """[N, len(FEATURE_NAMES)] features of N light curves."""
  return np.stack([light_curve_features(lc) for lc in light_curves])
