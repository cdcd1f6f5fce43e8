"""AstroWaveNet predictions: one-step-ahead distributions, denoised light curves, generation.

* `predict_next`: for every step t, the predicted distribution of input t
  given inputs before t (the training objective; the original's EVAL mode).
* `predicted_mean`: its mean: a denoised light curve (the original's use of
  the model's predictions, e.g. to flag points far from them).
* `generate`: autoregressive sampling of new light curves, optionally primed
  with observed steps; batch-vectorised, one model call per generated step
  on a window of the receptive field (generation is sequential by nature).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import tensorflow as tf

from astrowavenet import astrowavenet_model as awn


def predict_next(model, hparams: Mapping, autoregressive_input, conditioning_stack) -> dict:
  """Distribution parameters [B, T, ...] of each step given the steps before it."""
  features = {"autoregressive_input": tf.convert_to_tensor(autoregressive_input, tf.float32),
              "conditioning_stack": tf.convert_to_tensor(conditioning_stack, tf.float32)}
  awn.check_inputs({k: v.numpy() for k, v in features.items()}, hparams)
  outputs = model(awn.shift_inputs(features, hparams), training=False)
  return awn.distribution_params(outputs["dist_params"], hparams)


def bin_centres(dist: Mapping) -> np.ndarray:
  """Value of each class of a categorical output (centre of its bin)."""
  lo, hi = float(dist["min_quantization_value"]), float(dist["max_quantization_value"])
  classes = int(dist["num_classes"])
  return lo + (np.arange(classes) + 0.5) * (hi - lo) / classes


def predicted_mean(params: Mapping, hparams: Mapping) -> np.ndarray:
  """Mean [B, T, A] of the predicted distributions."""
  dist = hparams["output_distribution"]
  if dist["type"] == "normal":
    if "outlier_prob" in params:
      p = np.asarray(params["outlier_prob"])
      return (1 - p) * np.asarray(params["loc"]) + p * np.asarray(params["outlier_loc"])
    return np.asarray(params["loc"])
  probs = tf.nn.softmax(params["logits"], axis=-1).numpy()
  return probs @ bin_centres(dist)


def _sample(params: Mapping, hparams: Mapping, rng: np.random.Generator) -> np.ndarray:
  dist = hparams["output_distribution"]
  if dist["type"] == "normal":
    loc, scale = np.asarray(params["loc"]), np.asarray(params["scale"])
    if "outlier_prob" in params:  # Pick the mixture component first.
      outlier = rng.uniform(size=loc.shape) < np.asarray(params["outlier_prob"])
      loc = np.where(outlier, params["outlier_loc"], loc)
      scale = np.where(outlier, params["outlier_scale"], scale)
    return loc + scale * rng.standard_normal(loc.shape)
  probs = tf.nn.softmax(params["logits"], axis=-1).numpy()
  cumulative = np.cumsum(probs, axis=-1)
  draws = rng.uniform(size=probs.shape[:-1] + (1,))
  classes = np.minimum((draws > cumulative).sum(axis=-1), probs.shape[-1] - 1)
  return bin_centres(dist)[classes]


def generate(model, hparams: Mapping, conditioning_stack, autoregressive_dim: int = 1,
             prime=None, seed: int | None = None) -> np.ndarray:
  """Samples autoregressive values for every step of `conditioning_stack`.

  Args:
    conditioning_stack: [B, T, C] conditioning of the series to generate.
    autoregressive_dim: Channels A of the generated series.
    prime: Optional [B, P, A] observed first steps, kept as they are.
    seed: Seed of the sampling.

  Returns:
    float32 [B, T, A]: the primed steps followed by sampled ones.
  """
  conditioning = np.asarray(conditioning_stack, np.float32)
  batch, length = conditioning.shape[:2]
  series = np.zeros([batch, length, autoregressive_dim], np.float32)
  start = 0
  if prime is not None:
    prime = np.asarray(prime, np.float32)
    series[:, :prime.shape[1]] = prime
    start = prime.shape[1]
  rng = np.random.default_rng(seed)
  window = awn.receptive_field(hparams) + int(hparams["predict_n_steps_ahead"])

  window = min(window, length)

  @tf.function(reduce_retracing=True)
  def params_at(x, c, index):
    outputs = model(awn.shift_inputs({"autoregressive_input": x, "conditioning_stack": c},
                                     hparams), training=False)
    return awn.distribution_params(outputs["dist_params"][:, index:index + 1], hparams)

  for t in range(start, length):
    # Output t depends only on steps t - window + 1 ... t (causal, receptive
    # field), so a fixed-length window gives the exact full-sequence result
    # and every step reuses one traced function.
    lo = min(max(0, t + 1 - window), length - window)
    params = params_at(series[:, lo:lo + window], conditioning[:, lo:lo + window],
                       tf.constant(t - lo))
    series[:, t] = _sample({k: v.numpy() for k, v in params.items()}, hparams, rng)[:, 0]
  return series
