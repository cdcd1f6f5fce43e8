"""median_filter and binning: golden outputs, original error messages, and
agreement with a direct per-bin reference on many random inputs."""

import re

import numpy as np
import pytest

from light_curve_util import binning
from light_curve_util import median_filter
from tf_util import errors


def reference_median_filter(x, y, num_bins, bin_width, x_min, x_max):
  """Direct definition: bin i holds x in [x_min + i*s, x_min + i*s + w), with
  edges accumulated by repeated addition; returns (medians or NaN, counts)."""
  spacing = (x_max - x_min - bin_width) / (num_bins - 1)
  lo, hi = x_min, x_min + bin_width
  out = np.full(num_bins, np.nan)
  counts = np.zeros(num_bins, dtype=int)
  for i in range(num_bins):
    sel = (x >= lo) & (x < hi)
    counts[i] = sel.sum()
    if counts[i]:
      out[i] = np.median(y[sel])
    lo += spacing
    hi += spacing
  return out, counts


@pytest.mark.parametrize("case", ["a", "b", "c", "d"])
def test_golden_cases(golden_functions, golden_functions_meta, case):
  kwargs = golden_functions_meta["median_filter_*"]["cases"][case]
  x, y = golden_functions["median_filter_x"], golden_functions["median_filter_y"]
  np.testing.assert_array_equal(median_filter.median_filter(x, y, **kwargs),
                                golden_functions["median_filter_" + case])
  result, counts = binning.bin_and_aggregate(x, y, **kwargs)
  np.testing.assert_array_equal(result, golden_functions["bin_and_aggregate_" + case])
  np.testing.assert_array_equal(counts, golden_functions["bin_and_aggregate_counts_" + case])
  assert result.dtype == np.float64


@pytest.mark.parametrize("label,kwargs", [
    ("num_bins=1", dict(num_bins=1)),
    ("bin_width=0", dict(num_bins=10, bin_width=0.0)),
    ("bin_width>=range", dict(num_bins=10, bin_width=10.0, x_min=0.0, x_max=10.0)),
    ("x_min>=x_max", dict(num_bins=10, x_min=3.0, x_max=3.0)),
    ("x_min>max(x)", dict(num_bins=10, x_min=11.0, x_max=12.0)),
])
def test_original_error_messages(golden_functions, golden_functions_meta, label, kwargs):
  x, y = golden_functions["median_filter_x"], golden_functions["median_filter_y"]
  expected = golden_functions_meta["median_filter_*"]["errors"][label]
  message = expected.split("ValueError: ", 1)[1]
  for fn in (median_filter.median_filter, binning.bin_and_aggregate):
    with pytest.raises(errors.BinningError, match=re.escape(message)):
      fn(x, y, **kwargs)
  assert issubclass(errors.BinningError, ValueError)


def test_matches_reference_on_random_inputs():
  rng = np.random.RandomState(7)
  for trial in range(60):
    n = rng.randint(2, 3000)
    x = np.sort(rng.uniform(-5, 5, n))
    if trial % 3 == 0:  # gaps -> empty bins
      x = x[(x < -1) | (x > 1)]
      if len(x) < 2:
        continue
    dtype = np.float32 if trial % 2 else np.float64
    y = rng.standard_normal(len(x)).astype(dtype)
    if trial % 5 == 0:  # ties
      y = np.round(y, 1)
    num_bins = rng.randint(2, 400)
    x_min, x_max = -5.0, 5.0
    bin_width = (x_max - x_min) * rng.uniform(0.001, 0.5)
    ref, counts = reference_median_filter(x, y, num_bins, bin_width, x_min, x_max)
    got, got_counts = binning.bin_and_aggregate(x, y, num_bins, bin_width, x_min, x_max)
    np.testing.assert_array_equal(got_counts, counts)
    np.testing.assert_array_equal(got[counts > 0], ref[counts > 0])
    mf = median_filter.median_filter(x, y, num_bins, bin_width, x_min, x_max)
    assert mf.dtype == dtype
    np.testing.assert_array_equal(mf, np.where(counts > 0, ref, np.median(y)).astype(dtype))


def test_skewed_bins_use_exact_median():
  # One huge bin and many tiny ones exercise the rank-sorting path.
  rng = np.random.RandomState(3)
  x = np.sort(np.concatenate([rng.uniform(0, 0.01, 5000), rng.uniform(0.01, 10, 300)]))
  y = rng.standard_normal(len(x))
  ref, counts = reference_median_filter(x, y, 500, 0.02, 0.0, 10.0)
  got, _ = binning.bin_and_aggregate(x, y, 500, 0.02, 0.0, 10.0)
  np.testing.assert_array_equal(got[counts > 0], ref[counts > 0])


def test_nan_in_bin_gives_nan_like_np_median():
  x = np.arange(10.0)
  y = np.arange(10.0)
  y[3] = np.nan
  got, _ = binning.bin_and_aggregate(x, y, 5, 2.0, 0.0, 10.0)
  assert np.isnan(got[1]) and np.sum(np.isnan(got)) == 1


def test_multidimensional_y_and_custom_aggregation():
  x = (np.arange(50) + 0.5) / 50  # no point on a bin edge
  y = np.stack([np.arange(50.0), -np.arange(50.0)], axis=1)
  med, counts = binning.bin_and_aggregate(x, y, 5, x_min=0.0, x_max=1.0)
  np.testing.assert_array_equal(med[:, 0], -med[:, 1])
  np.testing.assert_array_equal(med[:, 0], [4.5, 14.5, 24.5, 34.5, 44.5])
  mean, _ = binning.bin_and_aggregate(x, y, 5, x_min=0.0, x_max=1.0, aggr_fn=np.mean)
  np.testing.assert_allclose(mean[:, 1], [-4.5, -14.5, -24.5, -34.5, -44.5])
  assert counts.tolist() == [10] * 5
  # By default x_max = x[-1] is exclusive, so the last point is left out.
  _, counts = binning.bin_and_aggregate(x, y, 5)
  assert counts.sum() == 49 and counts[-1] == 9


def _reference_fill(y):
  """Linear interpolation between nearest filled bins; edges copied outward."""
  y = y.copy()
  good = [i for i in range(len(y)) if not np.isnan(y[i])]
  for i in range(len(y)):
    if np.isnan(y[i]):
      left = max([g for g in good if g < i], default=None)
      right = min([g for g in good if g > i], default=None)
      if left is None:
        y[i] = y[right]
      elif right is None:
        y[i] = y[left]
      else:
        y[i] = y[left] + (y[right] - y[left]) / (right - left) * (i - left)
  return y


def test_fill_empty_bin():
  rng = np.random.RandomState(0)
  for _ in range(20):
    y = rng.standard_normal(40)
    y[rng.rand(40) < 0.4] = np.nan
    if np.all(np.isnan(y)):
      continue
    np.testing.assert_allclose(median_filter.fill_empty_bin(y.copy()), _reference_fill(y),
                               rtol=0, atol=1e-15)
  with pytest.raises(errors.DegenerateViewError, match="all 3 bins are empty"):
    median_filter.fill_empty_bin(np.full(3, np.nan))


def test_linear_interpolate_policy_fills_gap(golden_functions):
  x, y = golden_functions["median_filter_x"], golden_functions["median_filter_y"]
  kwargs = dict(num_bins=200, bin_width=0.02, x_min=0.0, x_max=10.0)
  ref, counts = reference_median_filter(x, y, **kwargs)
  got = median_filter.median_filter(x, y, empty_bin_policy="linear_interpolate", **kwargs)
  assert np.sum(counts == 0) > 0
  np.testing.assert_array_equal(got[counts > 0], ref[counts > 0])
  np.testing.assert_allclose(got, _reference_fill(ref), rtol=0, atol=1e-15)
  with pytest.raises(errors.BinningError, match="empty_bin_policy"):
    median_filter.median_filter(x, y, 10, empty_bin_policy="mean")
