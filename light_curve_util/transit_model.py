"""Transit light-curve models for injecting synthetic planets.

Two shapes, both vectorised over cadences:

* "box": flux drops by `depth` while |t - t_mid| < duration / 2.
* "limb_darkened": a planet of radius p (stellar radii) crossing a quadratically
  limb-darkened star, I(mu) = 1 - u1 (1 - mu) - u2 (1 - mu)^2, on a circular
  orbit with impact parameter b. The blocked flux is the exact overlap area of
  two disks times the stellar intensity at the planet's centre (the
  small-planet approximation of Mandel & Agol 2002, Sec. 5; accurate to a few
  per cent of the depth for p < 0.1), and p is chosen so that the depth at
  mid-transit equals `depth`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tf_util import errors

SHAPES = ("box", "limb_darkened")


@dataclasses.dataclass(frozen=True)
class TransitParams:
  """A transit signal.

  Attributes:
    period: Orbital period (days).
    t0: Centre of one transit (same time system as the light curve, days).
    duration: Total duration, first to fourth contact (days).
    depth: Fractional depth at mid-transit (ppm / 1e6).
    impact: Impact parameter b in stellar radii (limb_darkened only), in [0, 1).
    shape: "box" or "limb_darkened".
    limb_darkening: Quadratic coefficients (u1, u2).
  """
  period: float
  t0: float
  duration: float
  depth: float
  impact: float = 0.0
  shape: str = "box"
  limb_darkening: tuple[float, float] = (0.4, 0.25)

  def __post_init__(self):
    if not self.period > 0 or not self.duration > 0:
      raise errors.InvalidTCEError(
          "Transit needs period > 0 and duration > 0 days, got period={} "
          "duration={}".format(self.period, self.duration))
    if self.duration >= self.period:
      raise errors.InvalidTCEError("Transit duration {} d >= period {} d".format(
          self.duration, self.period))
    if not 0 < self.depth < 1:
      raise errors.InvalidTCEError(
          "Transit depth must be a fraction in (0, 1), got {}".format(self.depth))
    if not 0 <= self.impact < 1:
      raise errors.InvalidTCEError("Impact parameter must be in [0, 1), got {}".format(
          self.impact))
    if self.shape not in SHAPES:
      raise errors.InvalidTCEError("Unknown transit shape {!r}; expected one of {}".format(
          self.shape, SHAPES))


def _intensity(r: np.ndarray, u1: float, u2: float) -> np.ndarray:
  """Quadratic limb-darkened intensity at radius r (stellar radii), 0 outside."""
  mu = np.sqrt(np.clip(1.0 - r * r, 0.0, None))
  return np.where(r <= 1.0, 1.0 - u1 * (1.0 - mu) - u2 * (1.0 - mu)**2, 0.0)


def _overlap_area(z: np.ndarray, p: float) -> np.ndarray:
  """Area of a unit disk covered by a disk of radius p at separation z."""
  z = np.asarray(z, dtype=np.float64)
  area = np.zeros_like(z)
  inside = z <= 1.0 - p
  area[inside] = np.pi * p * p
  partial = (z > abs(1.0 - p)) & (z < 1.0 + p)
  zp = z[partial]
  k0 = np.arccos(np.clip((p * p + zp * zp - 1.0) / (2.0 * p * zp), -1.0, 1.0))
  k1 = np.arccos(np.clip((1.0 - p * p + zp * zp) / (2.0 * zp), -1.0, 1.0))
  root = np.sqrt(np.clip(4.0 * zp * zp - (1.0 + zp * zp - p * p)**2, 0.0, None))
  area[partial] = p * p * k0 + k1 - 0.5 * root
  return area


def _phase(time: np.ndarray, params: TransitParams) -> np.ndarray:
  """Time from the nearest mid-transit (days), in [-period/2, period/2)."""
  half = params.period / 2
  return np.mod(time - params.t0 + half, params.period) - half


def transit_flux(time: np.ndarray, params: TransitParams) -> np.ndarray:
  """Relative flux (1 out of transit) of the transit model at `time` (days)."""
  dt = _phase(np.asarray(time, dtype=np.float64), params)
  if params.shape == "box":
    return np.where(np.abs(dt) < params.duration / 2, 1.0 - params.depth, 1.0)
  u1, u2 = params.limb_darkening
  b = params.impact
  norm = np.pi * (1.0 - u1 / 3.0 - u2 / 6.0)  # integral of I over the disk
  # Radius giving the requested central depth, then the chord speed giving the
  # requested first-to-fourth-contact duration.
  p = np.sqrt(params.depth * norm / (np.pi * _intensity(np.array([b]), u1, u2)[0]))
  for _ in range(3):  # Partial overlap at mid-transit when b > 1 - p.
    central = _overlap_area(np.array([b]), p)[0] * _intensity(np.array([b]), u1, u2)[0]
    p *= np.sqrt(params.depth * norm / max(central, 1e-300))
  chord = 2.0 * np.sqrt(max((1.0 + p)**2 - b * b, 1e-12))
  speed = chord / params.duration  # stellar radii per day
  z = np.sqrt(b * b + (speed * dt)**2)
  # Intensity under the planet: at its centre, or at the limb when the centre
  # is off the disk during ingress/egress.
  blocked = _overlap_area(z, p) * _intensity(np.minimum(z, 1.0 - 1e-9), u1, u2)
  return 1.0 - blocked / norm


def inject_into_flux(time: np.ndarray, flux: np.ndarray,
                     params: TransitParams) -> np.ndarray:
  """Multiplies a flux light curve by the transit model (same dtype)."""
  return (flux * transit_flux(time, params)).astype(np.asarray(flux).dtype)


def inject_into_magnitude(time: np.ndarray, mag: np.ndarray,
                          params: TransitParams) -> np.ndarray:
  """Dims a magnitude light curve by the transit model (same dtype)."""
  return (mag - 2.5 * np.log10(transit_flux(time, params))).astype(
      np.asarray(mag).dtype)
