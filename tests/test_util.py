"""light_curve_util.util and periodic_event against golden outputs of the original."""

import numpy as np
import pytest

from light_curve_util import kepler_io
from light_curve_util import periodic_event
from light_curve_util import util
from tf_util import errors


@pytest.fixture(scope="module")
def q3(golden_functions):
  return golden_functions["q3_time"], golden_functions["q3_flux"]


@pytest.fixture(scope="module")
def all_raw(kepler90_files):
  all_time, all_flux = kepler_io.read_kepler_light_curve(kepler90_files)
  return all_time, [f.astype(np.float64) for f in all_flux]


@pytest.mark.parametrize("key,period,t0", [
    ("phase_fold_time_q3_k90i", 14.44912, 2.2),
    ("phase_fold_time_q3_k90h", 331.60059, 140.49679),
])
def test_phase_fold_time_real(golden_functions, q3, key, period, t0):
  np.testing.assert_array_equal(
      util.phase_fold_time(q3[0], period, t0), golden_functions[key])


def test_phase_fold_time_synthetic(golden_functions):
  time = golden_functions["phase_fold_time_syn_time"]
  np.testing.assert_array_equal(
      util.phase_fold_time(time, 3.0, 1.25), golden_functions["phase_fold_time_syn"])
  folded = util.phase_fold_time(time, 3.0, 1.25)
  assert folded.min() >= -1.5 and folded.max() < 1.5


def test_split(golden_functions, q3, all_raw):
  q3_time, q3_flux = q3
  out_time, out_flux = util.split(q3_time, q3_flux, gap_width=0.75)
  assert [len(t) for t in out_time] == list(golden_functions["split_q3_lengths"])
  np.testing.assert_array_equal(np.concatenate(out_flux), q3_flux)
  for gap, key in [(0.75, "split_all_lengths_gap0p75"), (0.1, "split_all_lengths_gap0p1")]:
    out_time, _ = util.split(*all_raw, gap_width=gap)
    assert [len(t) for t in out_time] == list(golden_functions[key])
    assert all(np.all(np.diff(t) <= gap) for t in out_time)


def test_remove_events_single(golden_functions, q3):
  time, flux = util.remove_events(
      q3[0], q3[1], [periodic_event.Event(14.44912, 0.11267, 2.2)], width_factor=1.5)
  assert isinstance(time, np.ndarray)
  np.testing.assert_array_equal(time, golden_functions["remove_events_single_time"])
  np.testing.assert_array_equal(flux, golden_functions["remove_events_single_flux"])


def test_remove_events_multi(golden_functions, all_raw):
  events = [periodic_event.Event(14.44912, 0.11267, 2.2),
            periodic_event.Event(331.60059, 0.53, 140.49679)]
  time, flux = util.remove_events(*all_raw, events, width_factor=1.0)
  assert [len(t) for t in time] == list(golden_functions["remove_events_multi_lengths"])
  np.testing.assert_array_equal(np.concatenate(time), golden_functions["remove_events_multi_time"])
  np.testing.assert_array_equal(np.concatenate(flux), golden_functions["remove_events_multi_flux"])


def test_remove_events_empty_segments(golden_functions_meta):
  expected = golden_functions_meta["remove_events"]["empty_segments"]
  all_time = [np.array([0, .1, .2]), np.array([5, 5.5, 6, 6.5])]
  all_flux = [np.zeros(3), np.zeros(4)]
  event = periodic_event.Event(period=100, duration=1, t0=0.1)
  time, _ = util.remove_events(all_time, all_flux, [event], include_empty_segments=False)
  assert [t.tolist() for t in time] == expected["exclude_result"]
  time, _ = util.remove_events(all_time, all_flux, [event], include_empty_segments=True)
  assert [t.tolist() for t in time] == expected["include_result"]


def test_interpolate_missing_time(golden_functions):
  time = golden_functions["interpolate_missing_time_in"]
  assert np.sum(~np.isfinite(time)) > 0
  np.testing.assert_allclose(util.interpolate_missing_time(time),
                             golden_functions["interpolate_missing_time_out"], rtol=0, atol=1e-12)
  np.testing.assert_allclose(
      util.interpolate_missing_time(time, golden_functions["interpolate_missing_time_cadence"]),
      golden_functions["interpolate_missing_time_out_cadence"], rtol=0, atol=1e-12)
  with pytest.raises(errors.EmptyLightCurveError, match="fewer than 2 finite"):
    util.interpolate_missing_time(np.array([np.nan, 1.0, np.nan]))


def test_interpolate_masked_spline(golden_functions, q3):
  t = q3[0]
  out = util.interpolate_masked_spline([t], [t[::7]], [np.sin(t[::7])])[0]
  np.testing.assert_array_equal(out, golden_functions["interpolate_masked_spline_out"])
  empty = util.interpolate_masked_spline([t[:3]], [np.array([])], [np.array([])])[0]
  assert np.all(np.isnan(empty)) and len(empty) == 3


def test_count_transit_points(golden_functions, all_raw):
  time = np.concatenate(all_raw[0])
  counts = util.count_transit_points(time, periodic_event.Event(14.44912, 0.11267, 2.2))
  np.testing.assert_array_equal(counts, golden_functions["count_transit_points_k90i"])
  with pytest.raises(ValueError, match="Too many transits"):
    util.count_transit_points(time, periodic_event.Event(1e-6, 1e-7, 0.0))


def test_reshard_arrays(golden_functions_meta):
  out = util.reshard_arrays([np.arange(5.), np.arange(5., 12.)],
                            [np.zeros(3), np.zeros(6), np.zeros(3)])
  assert [o.tolist() for o in out] == golden_functions_meta["reshard_arrays"]["result"]
  with pytest.raises(ValueError, match="same total length"):
    util.reshard_arrays([np.arange(5.)], [np.zeros(4)])


def test_uniform_cadence_light_curve():
  cadence = np.array([10, 11, 13, 14, 17])
  time = np.array([1.0, 1.1, 1.3, np.nan, 1.7])
  flux = np.array([5.0, 6.0, 7.0, 8.0, 9.0])
  out_cad, out_time, out_flux, mask = util.uniform_cadence_light_curve(cadence, time, flux)
  np.testing.assert_array_equal(out_cad, np.arange(10, 18))
  np.testing.assert_array_equal(mask, [1, 1, 0, 1, 0, 0, 0, 1])
  np.testing.assert_array_equal(out_time[mask], [1.0, 1.1, 1.3, 1.7])
  np.testing.assert_array_equal(out_flux[mask], [5.0, 6.0, 7.0, 9.0])
  with pytest.raises(ValueError, match="Duplicate cadence number: 11"):
    util.uniform_cadence_light_curve(np.array([10, 11, 11]), np.ones(3), np.ones(3))


def test_event_equals(golden_functions, golden_functions_meta):
  event = periodic_event.Event(period=10.0, duration=0.5, t0=1.0)
  others = golden_functions["event_equals_others"]
  got_default = [event.equals(periodic_event.Event(*row)) for row in others]
  got_loose = [event.equals(periodic_event.Event(*row), period_rtol=0.01, t0_durations=3)
               for row in others]
  np.testing.assert_array_equal(got_default, golden_functions["event_equals_default"])
  np.testing.assert_array_equal(got_loose, golden_functions["event_equals_rtol0p01_t0dur3"])
  meta = golden_functions_meta["event_equals_*"]
  assert str(event) == meta["str"] and repr(event) == meta["repr"]
