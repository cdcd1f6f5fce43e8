"""light_curve_util.transit_model: shapes, depths, durations, bad parameters."""

import numpy as np
import pytest

from light_curve_util import transit_model
from tf_util import errors


def params(**kwargs):
  base = dict(period=5.0, t0=1.0, duration=0.2, depth=0.01)
  base.update(kwargs)
  return transit_model.TransitParams(**base)


def test_box_transit():
  time = np.linspace(0.0, 20.0, 200001)
  flux = transit_model.transit_flux(time, params())
  in_transit = np.abs(np.mod(time - 1.0 + 2.5, 5.0) - 2.5) < 0.1
  np.testing.assert_array_equal(flux[in_transit], 0.99)
  np.testing.assert_array_equal(flux[~in_transit], 1.0)


def test_uniform_disk_is_exact_overlap():
  # u1 = u2 = 0: depth p^2 at centre, and the analytic overlap during ingress.
  p = params(shape="limb_darkened", limb_darkening=(0.0, 0.0), depth=0.01)
  flux = transit_model.transit_flux(np.array([1.0]), p)
  assert flux[0] == pytest.approx(0.99, rel=1e-12)
  radius = 0.1
  z = 1.0  # planet centre on the limb: covered area from the lens formula
  area = transit_model._overlap_area(np.array([z]), radius)[0]
  k0 = np.arccos(radius / 2)
  k1 = np.arccos(1 - radius**2 / 2)
  expected = radius**2 * k0 + k1 - 0.5 * np.sqrt(4 - (2 - radius**2)**2)
  assert area == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("impact", [0.0, 0.5, 0.85])
def test_limb_darkened_depth_duration_and_shape(impact):
  p = params(shape="limb_darkened", impact=impact, depth=0.004)
  dt = np.linspace(-0.15, 0.15, 30001)
  flux = transit_model.transit_flux(1.0 + dt, p)
  assert flux[15000] == pytest.approx(1 - 0.004, rel=1e-9)  # requested central depth
  in_transit = flux < 1.0
  assert dt[in_transit].min() == pytest.approx(-0.1, abs=2e-5)  # first contact
  assert dt[in_transit].max() == pytest.approx(0.1, abs=2e-5)   # fourth contact
  np.testing.assert_allclose(flux, flux[::-1], atol=1e-15)       # symmetric
  # Limb darkening: rounded bottom, deepest at mid-transit, not a box.
  assert flux.argmin() == 15000 and flux[in_transit].max() > 1 - 0.004 / 2


def test_injection_into_flux_and_magnitudes():
  time = np.linspace(0.0, 10.0, 1001)
  p = params()
  flux = np.full(time.shape, 2.0, dtype=np.float32)
  out = transit_model.inject_into_flux(time, flux, p)
  assert out.dtype == np.float32 and out.min() == pytest.approx(1.98)
  mag = np.full(time.shape, 10.0)
  dimmed = transit_model.inject_into_magnitude(time, mag, p)
  np.testing.assert_allclose(10**(-(dimmed - 10.0) / 2.5),
                             transit_model.transit_flux(time, p), rtol=1e-12)


@pytest.mark.parametrize("kwargs,match", [
    (dict(period=0.0), "period > 0"), (dict(duration=-1.0), "duration > 0"),
    (dict(duration=6.0), "duration 6.0 d >= period"), (dict(depth=1.5), "depth"),
    (dict(impact=1.2), "Impact"), (dict(shape="triangle"), "Unknown transit shape")])
def test_bad_parameters(kwargs, match):
  with pytest.raises(errors.InvalidTCEError, match=match):
    params(**kwargs)
