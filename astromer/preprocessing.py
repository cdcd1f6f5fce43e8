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

import glob
import os
from collections.abc import Sequence

import numpy as np

from tf_util import errors


def from_lightkurve(lc) -> np.ndarray:
  """(L, 3) [MJD, magnitude, error] of a lightkurve light curve (or an object with
  astropy .time, .flux and optional .flux_err): magnitude = -2.5 log10(flux),
  error = 2.5 / ln 10 * flux_err / flux; non-finite and non-positive flux dropped."""
  time = lc.time.mjd if hasattr(lc.time, "mjd") else np.asarray(lc.time, np.float64)

  def values(column):
    column = getattr(column, "unmasked", column)
    return np.asarray(getattr(column, "value", column), np.float64)

  flux = values(lc.flux)
  error = values(lc.flux_err) if getattr(lc, "flux_err", None) is not None else np.zeros_like(flux)
  for column in (lc.flux, getattr(lc, "flux_err", None)):
    if getattr(column, "mask", None) is not None:
      flux = np.where(np.asarray(column.mask), np.nan, flux)
  keep = np.isfinite(time) & np.isfinite(flux) & np.isfinite(error) & (flux > 0)
  flux = flux[keep]
  return np.stack([np.asarray(time, np.float64)[keep], -2.5 * np.log10(flux),
                   2.5 / np.log(10) * error[keep] / flux], axis=1)


def check_light_curve(lc, name: str = "light curve") -> np.ndarray:
  """The light curve as float64 (L, 3), or ValueError naming what is wrong (a
  lightkurve light curve is converted by from_lightkurve)."""
  if hasattr(lc, "time") and hasattr(lc, "flux"):
    lc = from_lightkurve(lc)
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


def mask_window(length: int, msk_frac: float, rnd_frac: float, same_frac: float,
                rng: np.random.Generator, max_obs: int):
  """(mask_out, mask_in, random_positions) of one window, as the original's mask_sample.

  int(n * msk_frac) real observations become targets (mask_out = 1); of
  those, ceil(k * same_frac) stay visible with their value, then
  ceil(k' * rnd_frac) of the rest are visible with a random value of the
  window; the remaining targets are hidden (mask_in = 1; their true value
  stays in the input, hidden only by the attention mask). Padding has
  mask_in = 1, mask_out = 0.
  """
  mask_out = np.zeros(max_obs, np.float32)
  mask_in = np.zeros(max_obs, np.float32)
  mask_in[length:] = 1.0
  targets = rng.permutation(length)[:int(length * msk_frac)]
  mask_out[targets] = 1.0
  num_same = int(np.ceil(len(targets) * same_frac))
  rest = targets[num_same:]
  num_random = int(np.ceil(len(rest) * rnd_frac))
  random_positions, hidden = rest[:num_random], rest[num_random:]
  mask_in[hidden] = 1.0
  return mask_out, mask_in, random_positions


def load_numpy(samples: Sequence, ids: Sequence | None = None, labels: Sequence | None = None,
               batch_size: int = 1, shuffle: bool = False, sampling: bool = False,
               max_obs: int = 100, msk_frac: float = 0.0, rnd_frac: float = 0.0,
               same_frac: float = 0.0, repeat: int = 1, seed: int | None = None):
  """tf.data batches for pretraining / fine-tuning from (L, 3) arrays.

  Each element: {"input", "output", "times", "mask_in", "mask_out"} float32
  [max_obs, 1], "length" int32, "id" string, "label" int32. Masks are drawn
  once (seeded by `seed`) and cached, as the original (its masks were static
  across epochs). `sampling=True` takes one window per curve at a random start.
  """
  import tensorflow as tf  # noqa: PLC0415  (TensorFlow, kept out of the import of this module)
  rng = np.random.default_rng(seed)
  ids = [str(i) for i in range(len(samples))] if ids is None else [str(i) for i in ids]
  labels = [-1] * len(samples) if labels is None else list(labels)
  columns = {k: [] for k in ("input", "output", "times", "mask_in", "mask_out", "length", "id",
                             "label")}
  for _ in range(repeat):
    for lc, oid, label in zip(samples, ids, labels):
      lc = check_light_curve(lc, "light curve {}".format(oid))
      windows = make_windows(lc, max_obs)
      if sampling and len(lc) > max_obs:
        start = int(rng.integers(0, len(lc) - max_obs + 1))
        windows = make_windows(lc[start:start + max_obs], max_obs)
      for w in range(len(windows["length"])):
        length = int(windows["length"][w])
        truth = windows["input"][w, :, 0]
        mask_out, mask_in, random_positions = mask_window(length, msk_frac, rnd_frac, same_frac,
                                                          rng, max_obs)
        model_input = truth.copy()
        model_input[random_positions] = rng.permutation(truth[:length])[:len(random_positions)]
        columns["input"].append(model_input[:, None])
        columns["output"].append(truth[:, None])
        columns["times"].append(windows["times"][w])
        columns["mask_in"].append(mask_in[:, None])
        columns["mask_out"].append(mask_out[:, None])
        columns["length"].append(length)
        columns["id"].append(oid)
        columns["label"].append(int(label))
  arrays = {k: np.asarray(v, dtype={"length": np.int32, "label": np.int32, "id": object}.get(
      k, np.float32)) for k, v in columns.items()}
  arrays["id"] = arrays["id"].astype(str)
  dataset = tf.data.Dataset.from_tensor_slices(arrays)
  if shuffle:
    dataset = dataset.shuffle(len(arrays["length"]), seed=seed)
  return dataset.batch(batch_size).cache()


def pretraining_records(folder: str):
  """(light curves (L, 3), ids, labels) of the original's record folder (SequenceExamples).

  Records: context id (bytes), label, length; feature lists dim_0 (time),
  dim_1 (magnitude), dim_2 (error), each one float list.
  """

  import tensorflow as tf  # noqa: PLC0415  (TensorFlow, kept out of the import of this module)

  files = sorted(glob.glob(os.path.join(folder, "**", "*.record"), recursive=True))
  if not files:
    raise errors.LightCurveFileError("No .record files under {}".format(folder), folder)
  curves, ids, labels = [], [], []
  for raw in tf.data.TFRecordDataset(files):
    ex = tf.train.SequenceExample.FromString(raw.numpy())
    context, lists = ex.context.feature, ex.feature_lists.feature_list
    columns = [np.array(lists["dim_{}".format(d)].feature[0].float_list.value, np.float32)
               for d in range(3)]
    curves.append(np.stack(columns, axis=1))
    ids.append(context["id"].bytes_list.value[0].decode())
    labels.append(int(context["label"].int64_list.value[0]))
  return curves, ids, labels


def make_pretraining(input, batch_size: int = 1, shuffle: bool = False,  # pylint: disable=redefined-builtin
                     sampling: bool = False, max_obs: int = 100, msk_frac: float = 0.0,
                     rnd_frac: float = 0.0, same_frac: float = 0.0, repeat: int = 1,
                     n_classes: int = -1, **numpy_args):
  """The documented entry point: `input` is a record folder or a list of (L, 3) arrays
  (then `ids`, `labels`, `seed` may be passed as keyword arguments).

  n_classes != -1 gives (inputs, one-hot label [batch, n_classes]) pairs for
  classification, as the original; -1 (default) the pretraining dicts.
  """
  if isinstance(input, str):
    curves, ids, labels = pretraining_records(input)
    # Records store float32 columns; times are used as stored (unsorted, as the original).
    numpy_args.setdefault("ids", ids)
    numpy_args.setdefault("labels", labels)
    input = curves
  dataset = load_numpy(input, batch_size=batch_size, shuffle=shuffle, sampling=sampling,
                       max_obs=max_obs, msk_frac=msk_frac, rnd_frac=rnd_frac,
                       same_frac=same_frac, repeat=repeat, **numpy_args)
  if n_classes == -1:
    return dataset
  import tensorflow as tf  # noqa: PLC0415  (TensorFlow, kept out of the import of this module)
  return dataset.map(lambda b: ({k: b[k] for k in ("input", "times", "mask_in")},
                                tf.one_hot(b["label"], n_classes)))
