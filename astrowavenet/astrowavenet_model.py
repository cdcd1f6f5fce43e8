"""AstroWaveNet: a WaveNet (van den Oord et al. 2016) for generative modelling of light curves, Keras 3.

    autoregressive_input [B, T, A] --preprocess: causal conv--> x [B, T, P]
    for block b, dilation d:                      (conditioning_stack [B, T, C])
      filter = causal_conv_d(x) + conv1x1(conditioning)
      gate   = causal_conv_d(x) + conv1x1(conditioning)
      z = tanh(filter) * sigmoid(gate)
      skip_{b,d} = conv1x1(z) [B, T, S];  x = x + conv1x1(z)
    network_output = sum of skips --ReLU--> postprocess conv1x1 + ReLU
      --> dist_params conv1x1: Normal (loc, softplus(scale) + min_scale) or
          categorical logits [B, T, A, num_classes] over quantised values.

Layer names are the original TF1 scopes with "/" written "." (as in
astronet.astro_model), e.g. `block_0.dilation_1.filter.causal_conv`,
`block_0.dilation_1.skip.conv1x1`, `preprocess.causal_conv`,
`postprocess.conv1x1`, `dist_params.conv1x1`, so original checkpoints load by
name through astronet.checkpoint_import.

The model itself never looks ahead: every convolution is causal. For training
and evaluation the inputs are shifted right by `predict_n_steps_ahead`
(`shift_inputs`), so that output t predicts input t + n; prediction
(embeddings) uses unshifted inputs, as the original's PREDICT mode.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import keras
import numpy as np
import tensorflow as tf

from astronet.astro_model.astro_model import scope_name

DISTRIBUTIONS = ("normal", "categorical")
OUTLIER_PARAMS = (("outlier_prob", 0.5), ("outlier_loc", 0.0), ("outlier_scale", 1.0))


@keras.saving.register_keras_serializable(package="astrowavenet")
class OutlierParams(keras.layers.Layer):
  """The outlier component of the Gaussian-mixture output: per channel, a
  probability, mean and standard deviation shared by every step (variables
  `outlier_prob`, `outlier_loc`, `outlier_scale` of the original, created
  outside any scope). Returns them broadcast to the shape of its input."""

  def __init__(self, channels: int, **kwargs):
    super().__init__(**kwargs)
    self.channels = int(channels)
    self.tf1_names = {}
    for name, initial in OUTLIER_PARAMS:
      setattr(self, name, self.add_weight(
          shape=(self.channels,), initializer=keras.initializers.Constant(initial), name=name))
      self.tf1_names[name] = name  # checkpoint_import: no scope prefix.

  def call(self, dist_params):
    ones = keras.ops.ones_like(dist_params[..., :self.channels])
    return keras.ops.stack([ones * getattr(self, name) for name, _ in OUTLIER_PARAMS], axis=-1)

  def get_config(self):
    return dict(super().get_config(), channels=self.channels)


def receptive_field(hparams: Mapping) -> int:
  """Number of input steps that output t depends on (t included)."""
  dilation = (int(hparams["dilation_kernel_width"]) - 1) * sum(
      int(d) for d in hparams["dilation_rates"]) * int(hparams["num_residual_blocks"])
  return int(hparams["preprocess_kernel_width"]) + dilation


def check_hparams(hparams: Mapping) -> None:
  """Raises ValueError naming a bad value (distribution type, sizes)."""
  dist = hparams["output_distribution"]
  if dist.get("type") not in DISTRIBUTIONS:
    raise ValueError("Unknown output_distribution type {!r}; expected one of {}".format(
        dist.get("type"), DISTRIBUTIONS))
  if dist["type"] == "categorical" and not (
      int(dist["num_classes"]) >= 2
      and float(dist["max_quantization_value"]) > float(dist["min_quantization_value"])):
    raise ValueError("categorical output needs num_classes >= 2 and max > min "
                     "quantization value, got {}".format(dict(dist)))
  for key in ("num_residual_blocks", "dilation_kernel_width", "preprocess_kernel_width",
              "preprocess_output_size", "skip_output_dim"):
    if int(hparams[key]) < 1:
      raise ValueError("hparams.{} must be >= 1, got {}".format(key, hparams[key]))


def build_model(hparams: Mapping, autoregressive_dim: int, conditioning_dim: int,
                name: str = "AstroWaveNet") -> keras.Model:
  """The network: {"autoregressive_input", "conditioning_stack"} -> {"network_output", "dist_params", "residual_output"}.

  Args:
    hparams: The config's hparams (see configurations.py).
    autoregressive_dim: Channels A of the modelled series (e.g. 1: flux).
    conditioning_dim: Channels C of the conditioning stack.

  Returns:
    A functional Keras model on [batch, time, channels] inputs of any length;
    dist_params is [B, T, 2A] (normal: loc, raw scale; + 3A outlier
    probability/loc/scale with predict_outlier_distribution, a Gaussian
    mixture) or [B, T, A * classes] (categorical).
  """
  check_hparams(hparams)
  ar_input = keras.Input((None, autoregressive_dim), name="autoregressive_input")
  conditioning = keras.Input((None, conditioning_dim), name="conditioning_stack")

  def causal(x, size, width, dilation, scope):
    return keras.layers.Conv1D(size, width, padding="causal", dilation_rate=dilation,
                               name=scope_name(*scope, "causal_conv"))(x)

  def conv1x1(x, size, scope, activation=None):
    return keras.layers.Conv1D(size, 1, activation=activation,
                               name=scope_name(*scope, "conv1x1"))(x)

  x = causal(ar_input, int(hparams["preprocess_output_size"]),
             int(hparams["preprocess_kernel_width"]), 1, ["preprocess"])
  channels = int(hparams["preprocess_output_size"])
  skips = []
  for block in range(int(hparams["num_residual_blocks"])):
    for dilation in hparams["dilation_rates"]:
      scope = ["block_{}".format(block), "dilation_{}".format(int(dilation))]
      width = int(hparams["dilation_kernel_width"])
      filter_ = keras.layers.Add()([causal(x, channels, width, int(dilation), scope + ["filter"]),
                                    conv1x1(conditioning, channels, scope + ["filter"])])
      gate = keras.layers.Add()([causal(x, channels, width, int(dilation), scope + ["gate"]),
                                 conv1x1(conditioning, channels, scope + ["gate"])])
      gated = keras.layers.Multiply()([keras.layers.Activation("tanh")(filter_),
                                       keras.layers.Activation("sigmoid")(gate)])
      residual = conv1x1(gated, channels, scope + ["residual"])
      skips.append(conv1x1(gated, int(hparams["skip_output_dim"]), scope + ["skip"]))
      x = keras.layers.Add()([x, residual])
  network_output = skips[0] if len(skips) == 1 else keras.layers.Add(
      name="network_output")(skips)
  net = keras.layers.Activation("relu")(network_output)
  net = conv1x1(net, int(hparams["skip_output_dim"]), ["postprocess"], activation="relu")
  dist = hparams["output_distribution"]
  size = autoregressive_dim * (2 if dist["type"] == "normal" else int(dist["num_classes"]))
  dist_params = conv1x1(net, size, ["dist_params"])
  if dist["type"] == "normal" and dist.get("predict_outlier_distribution"):
    # [B, T, A, 3]: outlier probability, loc and scale, appended to loc/scale.
    outliers = OutlierParams(autoregressive_dim, name="outlier")(dist_params)
    dist_params = keras.layers.Concatenate(name="dist_params_with_outliers")(
        [dist_params, keras.layers.Reshape((-1, 3 * autoregressive_dim))(outliers)])
  # The last residual sum feeds nothing, but the original created (and saved)
  # its conv; an output keeps the layer in the functional graph.
  return keras.Model({"autoregressive_input": ar_input, "conditioning_stack": conditioning},
                     {"network_output": network_output, "dist_params": dist_params,
                      "residual_output": x}, name=name)


def shift_right(x: tf.Tensor, n: int) -> tf.Tensor:
  """[B, T, D] shifted right by n steps along time: zeros in front, last n dropped."""
  if n <= 0:
    return x
  return tf.pad(x, [[0, 0], [n, 0], [0, 0]])[:, :-n, :]


def shift_inputs(features: Mapping, hparams: Mapping) -> dict:
  """Training/evaluation inputs: output t then predicts autoregressive input t + n.

  The conditioning stack is shifted too unless `use_future_context`.
  """
  n = int(hparams["predict_n_steps_ahead"])
  conditioning = features["conditioning_stack"]
  if not hparams.get("use_future_context", False):
    conditioning = shift_right(conditioning, n)
  return {"autoregressive_input": shift_right(features["autoregressive_input"], n),
          "conditioning_stack": conditioning}


def distribution_params(dist_params: tf.Tensor, hparams: Mapping) -> dict:
  """{"loc", "scale"} [B, T, A] (normal) or {"logits"} [B, T, A, classes] (categorical)."""
  dist = hparams["output_distribution"]
  if dist["type"] == "normal":
    if dist.get("predict_outlier_distribution"):
      channels = dist_params.shape[-1] // 5
      outliers = tf.reshape(dist_params[..., 2 * channels:],
                            tf.concat([tf.shape(dist_params)[:-1], [channels, 3]], 0))
      dist_params = dist_params[..., :2 * channels]
    loc, raw_scale = tf.split(dist_params, 2, axis=-1)
    params = {"loc": loc, "scale": tf.nn.softplus(raw_scale) + float(dist["min_scale"])}
    if dist.get("predict_outlier_distribution"):
      params.update(outlier_prob=outliers[..., 0], outlier_loc=outliers[..., 1],
                    outlier_scale=outliers[..., 2])
    return params
  classes = int(dist["num_classes"])
  shape = tf.concat([tf.shape(dist_params)[:-1], [-1, classes]], 0)
  return {"logits": tf.reshape(dist_params, shape)}


def quantize(values: tf.Tensor, dist: Mapping) -> tf.Tensor:
  """Class index (as float) of each value: clipped to [min, max], num_classes equal bins.

  Bins are half-open except the last, which includes max.
  """
  lo, hi = float(dist["min_quantization_value"]), float(dist["max_quantization_value"])
  classes = int(dist["num_classes"])
  clipped = tf.clip_by_value(values, lo, hi)
  index = tf.floor((clipped - lo) / (hi - lo) * classes)
  return tf.minimum(index, classes - 1.0)


def log_prob(params: Mapping, target: tf.Tensor, hparams: Mapping) -> tf.Tensor:
  """Log-likelihood [B, T, A] of the (autoregressive) target under the predicted distributions."""
  dist = hparams["output_distribution"]
  if dist["type"] == "normal":
    def normal(loc, scale):
      z = (target - loc) / scale
      return -0.5 * tf.square(z) - tf.math.log(scale) - 0.5 * math.log(2 * math.pi)
    if "outlier_prob" not in params:
      return normal(params["loc"], params["scale"])
    # Mixture of the predicted Normal (weight 1 - p) and the outlier Normal (p).
    p = params["outlier_prob"]
    return tf.reduce_logsumexp(tf.stack([
        tf.math.log(1 - p) + normal(params["loc"], params["scale"]),
        tf.math.log(p) + normal(params["outlier_loc"], params["outlier_scale"])]), axis=0)
  classes = int(dist["num_classes"])
  index = tf.cast(quantize(target, dist), tf.int32)
  log_softmax = tf.nn.log_softmax(params["logits"], axis=-1)
  return tf.reduce_sum(log_softmax * tf.one_hot(index, classes, dtype=log_softmax.dtype),
                       axis=-1)


def losses(params: Mapping, target: tf.Tensor, hparams: Mapping,
           weights: tf.Tensor | None = None) -> dict:
  """The original's losses.

  Returns:
    {"target" (quantised for categorical), "seq_losses" [B, T, A] (-log p *
    weight), "per_example_loss" [B] (weighted mean over time and channels;
    0 for all-zero weights), "num_examples", "total_loss" (mean over examples
    with non-zero weight)}.
  """
  if weights is None:
    weights = tf.ones_like(target)
  dist = hparams["output_distribution"]
  quantised = quantize(target, dist) if dist["type"] == "categorical" else target
  seq_losses = -log_prob(params, target, hparams) * weights
  axes = list(range(1, len(target.shape)))
  weight_sum = tf.reduce_sum(weights, axis=axes)
  per_example = tf.where(weight_sum > 0,
                         tf.reduce_sum(seq_losses, axis=axes) / tf.maximum(weight_sum, 1e-12),
                         tf.zeros_like(weight_sum))
  num_examples = tf.reduce_sum(tf.cast(weight_sum > 0, tf.float32))
  return {"target": quantised, "seq_losses": seq_losses, "per_example_loss": per_example,
          "num_examples": num_examples,
          "total_loss": tf.reduce_sum(per_example) / num_examples}


def check_inputs(features: Mapping, hparams: Mapping) -> None:
  """Raises ValueError for NaNs or windows shorter than the receptive field."""
  for name in ("autoregressive_input", "conditioning_stack"):
    values = np.asarray(features[name])
    if values.ndim != 3:
      raise ValueError("{} must be [batch, time, channels], got shape {}".format(
          name, values.shape))
    if not np.all(np.isfinite(values)):
      raise ValueError("{} holds {} non-finite values".format(
          name, int(np.sum(~np.isfinite(values)))))
  length = np.shape(features["autoregressive_input"])[1]
  field = receptive_field(hparams)
  if length < field:
    raise ValueError("Windows of {} steps are shorter than the receptive field ({} steps)".format(
        length, field))
