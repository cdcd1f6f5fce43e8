"""Views: Kepler-90 i (exoplanet-ml goldens) and Triage (TESS goldens), plus bad input."""

import json

import numpy as np
import pytest

from astronet import missions
from astronet import plotting
from astronet.data import preprocess
from light_curve_util import views
from tests.conftest import KEPLER90_ID
from tests.conftest import KEPLER90I
from tests.conftest import KEPLER_FITS_DIR
from tf_util import errors

VIEW_ATOL = 1e-5  # issue #3: max |delta| <= 1e-5 against the original views


@pytest.fixture(scope="module")
def kepler90i_detrended():
  all_time, all_flux = preprocess.read_light_curve(KEPLER90_ID, str(KEPLER_FITS_DIR))
  return preprocess.process_light_curve(all_time, all_flux)


def test_kepler90i_detrend_matches_original(kepler90i_detrended, golden_kepler90i):
  time, flux = kepler90i_detrended
  np.testing.assert_array_equal(time, golden_kepler90i["detrended_time"])
  # Divided in place in float32, as the original did.
  assert flux.dtype == np.float32
  np.testing.assert_allclose(flux, golden_kepler90i["detrended_flux"], rtol=1e-6, atol=0)


def test_kepler90i_fold_matches_original(kepler90i_detrended, golden_kepler90i):
  ftime, fflux = views.phase_fold_and_sort_light_curve(
      *kepler90i_detrended, KEPLER90I["period"], KEPLER90I["t0"])
  np.testing.assert_array_equal(ftime, golden_kepler90i["folded_time"])
  np.testing.assert_allclose(fflux, golden_kepler90i["folded_flux"], rtol=1e-6, atol=0)


def test_kepler90i_views_match_original(kepler90i_detrended, golden_kepler90i):
  got = preprocess.generate_views(*kepler90i_detrended, **KEPLER90I)
  assert got["global_view"].shape == (2001,) and got["local_view"].shape == (201,)
  assert got["global_view"].dtype == np.float64
  for name in ("global_view", "local_view"):
    delta = np.max(np.abs(got[name] - golden_kepler90i[name]))
    assert delta <= VIEW_ATOL, (name, delta)
    assert np.min(got[name]) == -1.0 and np.median(got[name]) == 0.0


def test_kepler90i_unnormalized_views(kepler90i_detrended, golden_kepler90i):
  period, t0, duration = KEPLER90I["period"], KEPLER90I["t0"], KEPLER90I["duration"]
  ftime, fflux = views.phase_fold_and_sort_light_curve(*kepler90i_detrended, period, t0)
  for name, config in (("global_view", views.KEPLER_GLOBAL_VIEW),
                       ("local_view", views.KEPLER_LOCAL_VIEW)):
    raw = views.view_from_config(
        ftime, fflux, period, duration,
        views.ViewConfig(config.num_bins, config.bin_width_factor, config.num_durations,
                         normalize=False))
    np.testing.assert_allclose(raw, golden_kepler90i[name + "_unnormalized"], rtol=1e-6, atol=0)


def test_original_signatures(kepler90i_detrended, golden_kepler90i):
  period, t0, duration = KEPLER90I["period"], KEPLER90I["t0"], KEPLER90I["duration"]
  ftime, fflux = preprocess.phase_fold_and_sort_light_curve(*kepler90i_detrended, period, t0)
  gv = preprocess.global_view(ftime, fflux, period)
  lv = preprocess.local_view(ftime, fflux, period, duration)
  assert np.max(np.abs(gv - golden_kepler90i["global_view"])) <= VIEW_ATOL
  assert np.max(np.abs(lv - golden_kepler90i["local_view"])) <= VIEW_ATOL


@pytest.fixture(scope="module")
def triage_goldens(test_data):
  args = json.loads((test_data / "triage" / "golden_views_args.json").read_text())["tces"]
  return args, np.load(test_data / "triage" / "golden_views.npz")


def test_triage_views_match_original(test_data, triage_goldens):
  args, golden = triage_goldens
  lc_dir = str(test_data / "triage" / "lightcurves")
  for tic, a in args.items():
    time, flux = preprocess.read_and_process_light_curve(tic, lc_dir, sector=a["sector"])
    assert len(time) == a["n_points_after_processing"]
    np.testing.assert_allclose(flux, golden[tic + "/flux"], rtol=1e-12, atol=0)
    got = preprocess.generate_views(time, flux, a["period"], a["epoc"], a["duration_days"],
                                    mission=missions.TESS)
    assert got["global_view"].shape == (201,) and got["local_view"].shape == (61,)
    for name in ("global_view", "local_view"):
      delta = np.max(np.abs(got[name] - golden[tic + "/" + name]))
      assert delta <= 1e-6, (tic, name, delta)


def test_triage_empty_bins_are_interpolated(test_data, triage_goldens):
  args, _ = triage_goldens
  a = args["100000001"]
  assert a["n_empty_bins_interpolated"]["global_view"] == 16
  time, flux = preprocess.read_and_process_light_curve(
      "100000001", str(test_data / "triage" / "lightcurves"), sector=2)
  ftime, fflux = views.phase_fold_and_sort_light_curve(time, flux, a["period"], a["epoc"])
  config = views.TESS_GLOBAL_VIEW
  median_view = views.view_from_config(
      ftime, fflux, a["period"], None,
      views.ViewConfig(config.num_bins, config.bin_width_factor, normalize=False))
  interp_view = views.view_from_config(
      ftime, fflux, a["period"], None,
      views.ViewConfig(config.num_bins, config.bin_width_factor,
                       empty_bin_policy="linear_interpolate", normalize=False))
  # 16 bins differ: median fill (Kepler policy) vs interpolation (Triage policy).
  assert np.sum(median_view != interp_view) == 16


# --- bad input -------------------------------------------------------------


@pytest.fixture
def folded():
  rng = np.random.RandomState(0)
  time = np.sort(rng.uniform(-5, 5, 2000))
  flux = 1 + 1e-3 * rng.standard_normal(2000)
  flux[np.abs(time) < 0.1] -= 0.01
  return time, flux


@pytest.mark.parametrize("period", [0.0, -3.0, np.nan, np.inf])
def test_non_positive_period(folded, period):
  with pytest.raises(errors.InvalidTCEError, match="period must be a positive"):
    preprocess.generate_views(*folded, period=period, t0=0.0, duration=0.2)


@pytest.mark.parametrize("duration", [10.0, 12.0])
def test_duration_not_less_than_period(folded, duration):
  with pytest.raises(errors.InvalidTCEError, match=r"duration \(.*\) must be less than period"):
    preprocess.generate_views(*folded, period=10.0, t0=0.0, duration=duration)


@pytest.mark.parametrize("duration", [0.0, -0.1])
def test_non_positive_duration(folded, duration):
  with pytest.raises(errors.InvalidTCEError, match="duration must be a positive"):
    preprocess.generate_views(*folded, period=10.0, t0=0.0, duration=duration)


@pytest.mark.parametrize("num_bins", [0, 1, -5])
def test_num_bins_too_small(folded, num_bins):
  with pytest.raises(errors.BinningError, match="num_bins"):
    views.ViewConfig(num_bins=num_bins, bin_width_factor=0.1)
  with pytest.raises(errors.BinningError, match="num_bins"):
    views.generate_view(*folded, num_bins=num_bins, bin_width=0.1, t_min=-5, t_max=5)


def test_empty_and_nan_light_curves(folded):
  with pytest.raises(errors.EmptyLightCurveError, match="empty light curve"):
    views.global_view(np.array([]), np.array([]), 10.0)
  time, flux = folded
  flux = flux.copy()
  flux[7] = np.nan
  with pytest.raises(errors.EmptyLightCurveError, match="first at index 7"):
    views.global_view(time, flux, 10.0)


def test_flat_view_cannot_be_normalised(folded):
  time, _ = folded
  with pytest.raises(errors.DegenerateViewError, match="flat view"):
    views.global_view(time, np.ones_like(time), 10.0)


def test_sparse_window_is_rejected_for_tess(folded):
  time, flux = folded
  near = np.abs(time) < 2  # data spans 4 d, less than half of the 10-day window
  with pytest.raises(errors.SparseLightCurveError, match="Too few points near transit"):
    views.global_view(time[near], flux[near], 10.0, config=views.TESS_GLOBAL_VIEW)
  # The Kepler policy fills the empty bins with the median instead.
  assert views.global_view(time[near], flux[near], 10.0, num_bins=201,
                           bin_width_factor=1 / 201).shape == (201,)


def test_bad_view_config():
  with pytest.raises(errors.BinningError, match="empty_bin_policy"):
    views.ViewConfig(num_bins=10, bin_width_factor=0.1, empty_bin_policy="zero")
  with pytest.raises(errors.BinningError, match="bin_width_factor"):
    views.ViewConfig(num_bins=10, bin_width_factor=0.0)
  with pytest.raises(ValueError, match="Unknown mission"):
    missions.get_mission("k2")


def test_missing_kepler_id(tmp_path):
  with pytest.raises(errors.LightCurveFileError, match="Kepler ID 1234"):
    preprocess.read_light_curve(1234, str(tmp_path))


def test_missing_tess_file(tmp_path):
  with pytest.raises(errors.LightCurveFileError, match="sector-5/77.h5 for TIC ID 77"):
    preprocess.read_and_process_light_curve(77, str(tmp_path), sector=5)


def test_process_tce_by_value_matches_original(test_data, triage_goldens, golden_kepler90i):
  """The single-TCE API (values, no catalog row) gives the originals' views."""
  from astronet.data import tce_views
  args, golden = triage_goldens
  for tic, a in args.items():
    got = tce_views.process_tce(int(tic), a["period"], a["epoc"], a["duration_days"], "tess",
                                str(test_data / "triage" / "lightcurves"), sector=a["sector"])
    for name in ("global_view", "local_view"):
      assert np.max(np.abs(got[name] - golden[tic + "/" + name])) <= 1e-6, (tic, name)
  kepler = tce_views.process_tce(11442793, KEPLER90I["period"], KEPLER90I["t0"],
                                 KEPLER90I["duration"], "kepler", str(KEPLER_FITS_DIR))
  for name in ("global_view", "local_view"):
    assert np.max(np.abs(kepler[name] - golden_kepler90i[name])) <= VIEW_ATOL
  with pytest.raises(errors.InvalidTCEError, match="sector is required"):
    tce_views.process_tce(1, 1.0, 0.0, 0.1, "tess", str(test_data))


def test_bin_centres_span_the_window_and_put_the_transit_at_zero(kepler90i_detrended):
  """The phase axis of the view figures: the bins' centres as median_filter
  lays the bins out, and Kepler-90 i's transit at 0 hours of its local view."""
  period, duration = KEPLER90I["period"], KEPLER90I["duration"]
  for config in (missions.KEPLER.global_view, missions.KEPLER.local_view,
                 missions.TESS.global_view, missions.TESS.local_view):
    centres = config.bin_centres(period, duration)
    t_min, t_max = config.window(period, duration)
    width = config.bin_width(period, duration)
    assert centres.shape == (config.num_bins,)
    assert centres[0] == pytest.approx(t_min + width / 2)
    assert centres[-1] == pytest.approx(t_max - width / 2)
    np.testing.assert_allclose(np.diff(centres), np.diff(centres)[0], rtol=1e-9)
  time, flux = kepler90i_detrended
  got = preprocess.generate_views(time, flux, period, KEPLER90I["t0"], duration)
  _, local_hours = plotting.view_axes(missions.KEPLER, period, duration)
  in_transit = np.abs(local_hours) < duration * 24 / 2
  assert in_transit.sum() > 10
  assert got["local_view"][in_transit].mean() < -0.5
  assert abs(got["local_view"][~in_transit].mean()) < 0.2
