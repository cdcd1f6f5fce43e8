"""third_party.kepler_spline and robust_mean against golden outputs of the original."""

import numpy as np
import pytest

from light_curve_util import util
from tf_util import errors
from third_party.kepler_spline import kepler_spline
from third_party.robust_mean import robust_mean

SPLINE_RTOL = 1e-5
# The spline agrees with the original to ~1e-10 relative (pydl's linear algebra
# on another numpy/BLAS); that moves the sum of squared residuals, hence the
# BIC, by ~1e-9 relative.
BIC_RTOL = 1e-7


def assert_spline_close(actual, expected):
  finite = np.isfinite(expected)
  np.testing.assert_array_equal(np.isfinite(actual), finite)
  np.testing.assert_allclose(actual[finite], expected[finite], rtol=SPLINE_RTOL, atol=0)


@pytest.fixture(scope="module")
def q3_segments(golden_functions):
  return util.split(golden_functions["q3_time"], golden_functions["q3_flux"], 0.75)


def test_robust_mean(golden_functions):
  flux = golden_functions["q3_flux"]
  mean, mean_std, mask = robust_mean.robust_mean(flux - np.median(flux), cut=3)
  np.testing.assert_array_equal(mask, golden_functions["robust_mean_q3_mask"])
  np.testing.assert_allclose([mean, mean_std], golden_functions["robust_mean_q3_mean_std"],
                             rtol=1e-12)


def test_robust_mean_std_is_numpys_bit_for_bit(golden_functions):
  """robust_mean's own std (the clipping thresholds hang on it) equals np.std exactly."""
  rng = np.random.default_rng(0)
  flux = golden_functions["q3_flux"]
  samples = [flux, flux - np.median(flux), flux[: 1001], flux[5:17]]
  samples += [rng.normal(size=n) * rng.uniform(1e-6, 1e3) + rng.uniform(-1e3, 1e3)
              for n in (2, 3, 8, 9, 100, 4097) for _ in range(20)]
  for values in samples:
    assert robust_mean._std(values.copy()) == np.std(values)  # pylint: disable=protected-access


def test_robust_mean_zero_mad_falls_back():
  y = np.array([1.0] * 6 + [2.0, 50.0])
  _, _, mask = robust_mean.robust_mean(y, cut=3)
  assert mask.tolist() == [True] * 7 + [False]


def test_kepler_spline_segment(golden_functions):
  spline, mask = kepler_spline.kepler_spline(
      golden_functions["kepler_spline_seg0_time"], golden_functions["kepler_spline_seg0_flux"],
      bkspace=1.5, maxiter=5, outlier_cut=3)
  assert_spline_close(spline, golden_functions["kepler_spline_seg0_spline"])
  np.testing.assert_array_equal(mask, golden_functions["kepler_spline_seg0_mask"])
  assert np.sum(~mask) == 6


def test_fit_kepler_spline_q3(golden_functions, golden_functions_meta, q3_segments):
  spline, metadata = kepler_spline.fit_kepler_spline(*q3_segments, verbose=False)
  assert_spline_close(np.concatenate(spline), golden_functions["fit_kepler_spline_q3_spline"])
  np.testing.assert_array_equal(np.concatenate(metadata.light_curve_mask),
                                golden_functions["fit_kepler_spline_q3_mask"])
  expected = golden_functions_meta["fit_kepler_spline_q3_*"]["metadata"]
  assert metadata.bkspace == pytest.approx(expected["bkspace"], rel=1e-12)
  assert metadata.bic == pytest.approx(expected["bic"], rel=BIC_RTOL)
  assert metadata.likelihood_term == pytest.approx(expected["likelihood_term"], rel=BIC_RTOL)
  assert metadata.penalty_term == pytest.approx(expected["penalty_term"], rel=1e-12)
  assert metadata.bad_bkspaces == expected["bad_bkspaces"]
  assert metadata.failed_segments == []


def test_choose_kepler_spline_penalty(golden_functions, golden_functions_meta, q3_segments):
  spline, metadata = kepler_spline.choose_kepler_spline(
      *q3_segments, bkspaces=[0.3, 1.0, 3.0, 10.0], maxiter=5, penalty_coeff=2.0,
      verbose=False)
  assert_spline_close(np.concatenate(spline), golden_functions["choose_kepler_spline_q3_spline"])
  mask = np.concatenate(metadata.light_curve_mask)
  np.testing.assert_array_equal(mask, golden_functions["choose_kepler_spline_q3_mask"])
  expected = golden_functions_meta["choose_kepler_spline_q3_*"]["metadata"]
  assert metadata.bkspace == expected["bkspace"]
  assert np.sum(~mask) == expected["num_points_clipped"]
  assert metadata.bic == pytest.approx(expected["bic"], rel=BIC_RTOL)


def test_insufficient_points_message(golden_functions_meta):
  kind, message = golden_functions_meta["errors"]["kepler_spline(arange(3.), ones(3))"]
  with pytest.raises(kepler_spline.InsufficientPointsError) as e:
    kepler_spline.kepler_spline(np.arange(3.), np.ones(3))
  assert type(e.value).__name__ == kind and str(e.value) == message
  assert isinstance(e.value, errors.AstronetError)


def test_short_segment_gets_nan_spline(golden_functions):
  all_time = [np.linspace(0, 1, 3), np.linspace(2, 3, 50)]
  all_flux = [np.ones(3), 1 + 0.001 * np.sin(np.linspace(0, 6, 50))]
  spline, metadata = kepler_spline.choose_kepler_spline(all_time, all_flux, [0.5],
                                                        verbose=False)
  assert np.all(np.isnan(spline[0]))
  assert metadata.bkspace == 0.5
  assert_spline_close(np.concatenate(spline),
                      golden_functions["choose_kepler_spline_short_segment_spline"])


def test_empty_input_gives_nan_spline():
  spline, metadata = kepler_spline.choose_kepler_spline([np.array([1.0])], [np.array([1.0])],
                                                        [1.0], verbose=False)
  assert np.all(np.isnan(spline[0])) and metadata.bkspace is None


def test_pydl_failure_in_one_segment_is_contained(test_data):
  """Regression: pydl's "could not broadcast input array" ValueError on a
  segment of clustered points crashed the original's record jobs."""
  bad = np.load(test_data / "pydl_broadcast_segment.npz")
  bkspace = float(bad["bkspace"])
  with pytest.raises(kepler_spline.SegmentFitError, match="could not broadcast") as e:
    kepler_spline.kepler_spline(bad["time"], bad["flux"], bkspace=bkspace)
  assert "18 points" in str(e.value)

  good_time = np.linspace(100, 110, 300)
  good_flux = 1 + 0.001 * np.sin(good_time)
  spline, metadata = kepler_spline.choose_kepler_spline(
      [good_time, bad["time"]], [good_flux, bad["flux"]], [bkspace], verbose=False)
  assert np.all(np.isfinite(spline[0])) and np.all(np.isnan(spline[1]))
  assert metadata.bkspace == bkspace
  assert [(f.segment_index, f.bkspace) for f in metadata.failed_segments] == [(1, bkspace)]
  assert "could not broadcast" in metadata.failed_segments[0].message
  assert not metadata.light_curve_mask[1].any()


@pytest.mark.parametrize("time, bkspace, cause", [
    (np.r_[np.linspace(0, 4, 50), np.nan, np.linspace(4.1, 10, 49)], 1.0, "NaN"),
    (np.full(100, 3.0), 1.0, "NaN"),  # no time span
    (np.linspace(0, 10, 100), 0.0, "infinity"),
])
def test_degenerate_segment_is_a_segment_failure(time, bkspace, cause):
  """As with pydl: the segment fails (SegmentFitError), nothing escapes."""
  flux = 1 + 0.01 * np.cos(np.arange(100.0))
  with pytest.raises(kepler_spline.SegmentFitError, match=cause):
    kepler_spline.kepler_spline(time, flux, bkspace)
  good_time = np.linspace(20, 30, 100)
  spline, metadata = kepler_spline.choose_kepler_spline(
      [time, good_time], [flux, flux], [bkspace, 2.0], verbose=False)
  assert (0, bkspace) in [(f.segment_index, f.bkspace) for f in metadata.failed_segments]
  assert np.all(np.isfinite(spline[1])) and metadata.bkspace is not None


def test_pydl_failure_does_not_stop_fit_kepler_spline(test_data):
  bad = np.load(test_data / "pydl_broadcast_segment.npz")
  good_time = np.linspace(100, 110, 300)
  good_flux = 1 + 0.001 * np.sin(good_time)
  spline, metadata = kepler_spline.fit_kepler_spline(
      [good_time, bad["time"]], [good_flux, bad["flux"]],
      bkspace_min=float(bad["bkspace"]), bkspace_max=20, bkspace_num=5, verbose=False)
  assert np.all(np.isfinite(spline[0]))
  assert metadata.bkspace is not None


def test_fit_kepler_spline_kepler90_all_quarters(golden_kepler90i, golden_kepler90i_meta,
                                                 kepler90_files):
  from light_curve_util import kepler_io
  all_time, all_flux = kepler_io.read_kepler_light_curve(kepler90_files)
  all_time, all_flux = util.split(all_time, all_flux, gap_width=0.75)
  assert [len(t) for t in all_time] == list(golden_kepler90i["split_segment_lengths"])
  spline, metadata = kepler_spline.fit_kepler_spline(all_time, all_flux, verbose=False)
  assert_spline_close(np.concatenate(spline), golden_kepler90i["spline"])
  mask = np.concatenate(metadata.light_curve_mask)
  np.testing.assert_array_equal(mask, golden_kepler90i["spline_mask"])
  expected = golden_kepler90i_meta["spline_metadata"]
  assert mask.sum() == expected["num_points_used"]
  assert metadata.bkspace == pytest.approx(expected["bkspace"], rel=1e-12)
  assert metadata.bic == pytest.approx(expected["bic"], rel=BIC_RTOL)
  assert metadata.bad_bkspaces == expected["bad_bkspaces"]


# --- The vectorised B-spline (bspline.fit) against pydl's iterfit ---------------

from third_party.kepler_spline import bspline  # pylint: disable=g-import-not-at-top


def _outcome(fn):
  """(values, mask) or the exception class of `fn()`."""
  try:
    return fn()
  except Exception as e:  # pylint: disable=broad-except
    return type(e)


@pytest.fixture(scope="module")
def kepler90_segments(kepler90_files):
  from light_curve_util import kepler_io
  all_time, all_flux = kepler_io.read_kepler_light_curve(kepler90_files)
  return util.split(all_time, all_flux, gap_width=0.75)


def test_numpy_backend_matches_pydl_on_kepler90_segments(kepler90_segments):
  """Every segment, spacings from too dense (SplineError) to one piece."""
  outcomes = set()
  for time, flux in zip(*kepler90_segments):
    for bkspace in (0.02, 0.1, 0.5, 1.3, 4.0, 20.0):
      ours = _outcome(lambda t=time, f=flux, b=bkspace: kepler_spline.kepler_spline(t, f, b))
      ref = _outcome(lambda t=time, f=flux, b=bkspace: kepler_spline.kepler_spline(
          t, f, b, backend="pydl"))
      if isinstance(ref, type):
        assert ours is ref, (len(time), bkspace)
        outcomes.add(ref.__name__)
        continue
      np.testing.assert_allclose(ours[0], ref[0], rtol=1e-12, atol=0)
      np.testing.assert_array_equal(ours[1], ref[1])
      outcomes.add("fit")
  # Real fits and both failure paths (bad spacing; LAPACK's "not positive
  # definite", pydl's broadcast error) were exercised, each the same as pydl.
  assert outcomes == {"fit", "SplineError", "SegmentFitError"}


def test_bspline_fit_matches_pydl_unsorted_points():
  from pydl.pydlutils import bspline as pydl_bspline
  rng = np.random.RandomState(1)
  x = rng.uniform(0, 1, 500)
  y = np.sin(5 * x) + 0.1 * rng.standard_normal(500)
  for bkspace in (0.3, 0.05, 0.01):
    expected = pydl_bspline.iterfit(x, y, bkspace=bkspace)[0].value(x)[0]
    np.testing.assert_allclose(bspline.fit(x, y, bkspace).value(x), expected,
                               rtol=0, atol=1e-13)
  # 0.002: some basis functions have no points under them; pydl raises an
  # IndexError there, which the original reads as "bkspace too small".
  with pytest.raises(IndexError):
    pydl_bspline.iterfit(x, y, bkspace=0.002)
  with pytest.raises(bspline.BreakpointSpacingError, match="no data under basis"):
    bspline.fit(x, y, 0.002)


def test_bspline_not_positive_definite_is_reported():
  """Points only at the two ends: LAPACK rejects the normal matrix (pydl then
  dies with 'could not broadcast input array')."""
  x = np.array([0, 0, 0, 1, 1, 1.0])
  y = np.array([1, 2, 3, 4, 5, 7.0])
  with pytest.raises(bspline.NotPositiveDefiniteError, match="not positive definite"):
    bspline.fit(x, y, 2.0)


def test_segment_fitter_equals_fit_on_subset(kepler90_segments):
  time, flux = kepler90_segments[0][0], kepler90_segments[1][0]
  x = (time - time.min()) / (time.max() - time.min())
  fitter = bspline.SegmentFitter(x, flux)
  # No points dropped; a few (the full sums downdated); a whole knot interval
  # (summed directly: downdating would cancel too much); the first points (new knots).
  for drop in (slice(0, 0), slice(100, 140), slice(300, 330), slice(0, 5)):
    mask = np.ones(len(x), bool)
    mask[drop] = False
    values, _ = fitter.fit_and_evaluate(mask, 0.1)
    np.testing.assert_allclose(values, bspline.fit(x[mask], flux[mask], 0.1).value(x),
                               rtol=1e-14, atol=0)


def test_segment_fitter_shares_fits_of_spacings_with_the_same_knots(kepler90_segments):
  time, flux = kepler90_segments[0][0], kepler90_segments[1][0]
  x = (time - time.min()) / (time.max() - time.min())
  fitter = bspline.SegmentFitter(x, flux)
  mask = np.ones(len(x), bool)
  mask[50:60] = False
  # 0.34 and 0.45 both give 3 break points over [0, 1]; 0.3 gives 4.
  a, key_a = fitter.fit_and_evaluate(mask, 0.34)
  b, key_b = fitter.fit_and_evaluate(mask, 0.45)
  c, key_c = fitter.fit_and_evaluate(mask, 0.3)
  assert key_a == key_b != key_c and b is a
  np.testing.assert_array_equal(a, bspline.SegmentFitter(x, flux).fit_and_evaluate(mask, 0.45)[0])
  assert not np.array_equal(a, c)
  # A new spacing keeps the fits only if it gives all points the same knots.
  assert fitter.begin_spacing(0.34) and not fitter.begin_spacing(0.45)
  assert fitter.fit_and_evaluate(mask, 0.45)[0] is not a  # dropped by begin_spacing
  assert fitter.begin_spacing(0.3)


def test_choose_kepler_spline_equals_separate_fits(kepler90_segments):
  """The fits shared between spacings change nothing: each spacing's splines,
  masks and errors are those of separate kepler_spline calls."""
  all_time, all_flux = [list(a) for a in kepler90_segments]
  bkspaces = np.logspace(np.log10(0.02), np.log10(20), 12)
  for bkspace in bkspaces:
    spline, metadata = kepler_spline.choose_kepler_spline(
        all_time, all_flux, [bkspace], verbose=False)
    alone = []
    for time, flux in zip(all_time, all_flux):
      try:
        alone.append(kepler_spline.kepler_spline(time, flux, bkspace))
      except errors.AstronetError as e:
        alone.append(e)
    if any(isinstance(a, kepler_spline.SplineError) for a in alone):
      assert metadata.bad_bkspaces == [bkspace]
      continue
    for piece, mask, a in zip(spline, metadata.light_curve_mask, alone):
      np.testing.assert_array_equal(piece, a[0])
      np.testing.assert_array_equal(mask, a[1])
  # All spacings in one call: the same choice as one call per spacing.
  best, metadata = kepler_spline.choose_kepler_spline(all_time, all_flux, bkspaces, verbose=False)
  bics = [kepler_spline.choose_kepler_spline(all_time, all_flux, [b], verbose=False)[1].bic
          for b in bkspaces]
  finite = [b for b in bics if b is not None]
  assert metadata.bic == min(finite) and len(finite) < len(bics)
  assert metadata.bkspace == bkspaces[bics.index(min(finite))]


def test_downdated_sums_equal_direct_sums(kepler90_segments):
  """The normal equations of a subset: full sums minus the excluded points'
  (when few are excluded) or summed directly (when too much would cancel)."""
  time, flux = kepler90_segments[0][0], kepler90_segments[1][0]
  x = (time - time.min()) / (time.max() - time.min())
  system = bspline.NormalEquations(bspline.Basis(bspline.breakpoints(x, 0.1), x), flux)
  rng = np.random.RandomState(3)
  for mask in (rng.uniform(size=x.size) > 0.03, np.arange(x.size) % 3 > 0):
    grid, num_points = system._grid(mask)  # pylint: disable=protected-access
    direct = bspline.NormalEquations(bspline.Basis(system.basis.knots, x[mask]), flux[mask])
    assert num_points == np.count_nonzero(mask)
    np.testing.assert_allclose(grid, direct.full_grid, rtol=1e-13, atol=1e-9)


def test_unknown_backend():
  with pytest.raises(ValueError, match="backend"):
    kepler_spline.kepler_spline(np.arange(10.0), np.ones(10), backend="scipy")


def test_fast_median_is_numpy_median_bit_for_bit():
  rng = np.random.RandomState(0)
  for n in (1, 2, 3, 4, 11, 976, 977):
    for dtype in (np.float32, np.float64):
      values = (rng.standard_normal(n) * 1e3).astype(dtype)
      expected = np.median(values)
      actual = robust_mean._median(values)
      assert actual == expected and np.asarray(actual).dtype == np.asarray(expected).dtype
  # NaN input keeps numpy's behaviour (the fast path is skipped).
  assert np.isnan(robust_mean.robust_mean(np.array([1.0, np.nan, 2.0, 3.0]), 3)[0])


def _synthetic_light_curve(seed):
  """Segments of 2-3,000 points over 0.5-60 days with variability, noise,
  transit-like dips and outliers; even or random sampling, some repeated times."""
  rng = np.random.RandomState(seed)
  all_time, all_flux, start = [], [], 0.0
  for _ in range(rng.randint(1, 6)):
    n, span = rng.randint(2, 3000), rng.uniform(0.5, 60)
    time = (np.sort(rng.uniform(start, start + span, n)) if seed % 3 == 0
            else np.linspace(start, start + span, n))
    if seed % 5 == 0 and n > 10:
      time[5:8] = time[5]
    flux = 1e4 * (1 + 0.01 * np.sin(time / rng.uniform(1, 10)))
    flux += rng.standard_normal(n) * rng.uniform(1, 30)
    for _ in range(rng.randint(0, 6)):
      centre, width = rng.randint(0, n), rng.randint(1, 40)
      flux[centre:centre + width] -= rng.uniform(50, 500)
    if rng.rand() < 0.3:
      flux[rng.randint(0, n, size=5)] += rng.uniform(100, 1e4)
    all_time.append(time)
    all_flux.append(flux.astype(np.float32 if seed % 2 else np.float64))
    start += span + 1
  return all_time, all_flux


@pytest.mark.parametrize("seed", range(8))
def test_choose_kepler_spline_matches_pydl_on_synthetic_light_curves(seed):
  """The whole search (20 spacings, clipping, BIC) with the vectorised fitter
  and with pydl: same masks, choice and failures; splines to 1e-12."""
  all_time, all_flux = _synthetic_light_curve(seed)
  bkspaces = (np.logspace(np.log10(0.5), np.log10(20), 20) if seed % 4
              else np.random.RandomState(seed).uniform(0.05, 25, 12))
  ours, ours_meta = kepler_spline.choose_kepler_spline(all_time, all_flux, bkspaces, verbose=False)
  ref, ref_meta = kepler_spline.choose_kepler_spline(all_time, all_flux, bkspaces, verbose=False,
                                                     backend="pydl")
  assert ours_meta.bkspace == ref_meta.bkspace
  assert ours_meta.bad_bkspaces == ref_meta.bad_bkspaces
  assert ([(f.segment_index, f.bkspace) for f in ours_meta.failed_segments] ==
          [(f.segment_index, f.bkspace) for f in ref_meta.failed_segments])
  for a, b, mask_a, mask_b in zip(ours, ref, ours_meta.light_curve_mask, ref_meta.light_curve_mask):
    np.testing.assert_array_equal(mask_a, mask_b)
    np.testing.assert_array_equal(np.isfinite(a), np.isfinite(b))
    np.testing.assert_allclose(a[np.isfinite(a)], b[np.isfinite(b)], rtol=1e-12, atol=0)
