"""ASTROMER inputs: light curves (L, 3) [time (MJD, days), magnitude, error] -> model windows.

As the original (astromer 0.1.8, `sampling=False`):
* the arrays are cast to float32 FIRST (MJD ~ 49000 is then quantised to
  1/256 d before centring: the released weights saw exactly this);
* windows of `max_obs`: starts cumsum([0] + [max_obs] * floor(n / max_obs)),
  each clipped to [0, n - max_obs] and min(n, max_obs) long, so the last window
  overlaps the previous one and an exact multiple of max_obs repeats the last
  window;
* each window's time, magnitude and error are mean-subtracted over its real
  observations (float32); padding is 0 with mask_in = 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def check_light_curve(lc, name: str = "light curve") -> np.ndarray:
  """The light curve as float64 (L, 3), or ValueError naming what is wrong."""
  lc = np.asarray(lc, dtype=np.float64)
  if lc.ndim != 2 or lc.shape[1] != 3:
    raise ValueError("{} must have shape (L, 3) [time, magnitude, error], got {}".format(
        name, lc.shape))
  if lc.shape[0] < 2:
    raise ValueError("{} has {} observation(s); at least 2 are needed".format(name, lc.shape[0]))
  bad = ~np.isfinite(lc)
  if bad.any():
    raise ValueError("{} holds {} non-finite values (first at row {})".format(
        name, int(bad.sum()), int(np.nonzero(bad.any(axis=1))[0][0])))
  if np.any(np.diff(lc[:, 0]) < 0):
    raise ValueError("{}: times are not sorted (first decrease at row {})".format(
        name, int(np.nonzero(np.diff(lc[:, 0]) < 0)[0][0]) + 1))
  return lc


def window_starts(n: int, max_obs: int) -> np.ndarray:
  """Start index of each window of an n-observation light curve (see module docstring)."""
  starts = np.cumsum([0] + [max_obs] * (n // max_obs))
  return np.clip(starts, 0, max(n - max_obs, 0))


def make_windows(lc, max_obs: int = 200) -> dict:
  """{"input", "times", "mask_in" (W, max_obs, 1) float32, "length" (W,) int32} of one curve."""
  lc = np.asarray(lc).astype(np.float32)
  n = len(lc)
  size = min(n, max_obs)
  windows = {"input": [], "times": [], "mask_in": [], "length": []}
  for start in window_starts(n, max_obs):
    chunk = lc[start:start + size]
    centred = chunk - chunk.mean(axis=0, dtype=np.float32)
    pad = max_obs - len(chunk)
    windows["times"].append(np.pad(centred[:, 0], (0, pad))[:, None])
    windows["input"].append(np.pad(centred[:, 1], (0, pad))[:, None])
    windows["mask_in"].append(np.pad(np.zeros(len(chunk), np.float32), (0, pad),
                                     constant_values=1.0)[:, None])
    windows["length"].append(len(chunk))
  return {k: np.asarray(v, np.int32 if k == "length" else np.float32)
          for k, v in windows.items()}


def windows_of(light_curves: Sequence, ids: Sequence[str], max_obs: int = 200) -> dict:
  """Windows of several curves, in sorted-id order (as the original's encode), with "id"."""
  order = np.argsort(np.asarray(ids, dtype=str), kind="stable")
  parts = []
  for i in order:
    w = make_windows(check_light_curve(light_curves[i], "light curve {}".format(ids[i])),
                     max_obs)
    w["id"] = np.array([str(ids[i])] * len(w["length"]))
    parts.append(w)
  return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
