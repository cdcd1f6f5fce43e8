"""ASTROMER v0 encoder (Donoso-Oliva et al. 2023; astromer 0.1.8) in Keras 3.

Per window of T observations (magnitude, time, mask_in: 1 = padding/[MASK]):

    x = Dense(1 -> d_model)(magnitude) + PE(time)
    PE[t, i] = sin(t * 10000**(-2i/d_model)) for even i, cos(...) for odd i
    for each layer:  h = LN1(MHA(x));  x = LN2(Dense(d_model)(tanh(Dense(dff)(h))))
    MHA logits = Q K^T / sqrt(depth) + min(1, m_i + m_j)       (mask ADDED)
    reconstruction = Dense(1)(LN(x))

The quirks of the original are kept on purpose (they are what the released
weights were trained with): the positional encoding uses the observation times
and the raw channel index i (base 10000 whatever `base` says), the attention
mask is added as +1 rather than blocking, there are no residual connections,
LayerNorm eps is 1e-6, and dropout never fires in the original's training
(`training=False`). `use_residuals=True` switches the residuals on for new models.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


def positional_encoding(times, d_model: int, base: float = 10000.0):
  """[B, T, 1] times (days) -> [B, T, d_model] sin (even) / cos (odd) channels."""
  i = np.arange(d_model, dtype=np.float32)
  rates = np.power(np.float32(base), -2.0 * i / np.float32(d_model)).astype(np.float32)
  angles = times * ops.convert_to_tensor(rates[None, None, :])
  even = (np.arange(d_model) % 2 == 0)[None, None, :]
  return ops.where(ops.convert_to_tensor(even), ops.sin(angles), ops.cos(angles))


@keras.saving.register_keras_serializable(package="astromer")
class PositionalEncoding(keras.layers.Layer):
  """`positional_encoding` of the observation times as a layer."""

  def __init__(self, d_model: int, **kwargs):
    super().__init__(**kwargs)
    self.d_model = d_model

  def call(self, times):
    return positional_encoding(times, self.d_model)

  def compute_output_shape(self, input_shape):
    return tuple(input_shape[:-1]) + (self.d_model,)

  def get_config(self):
    return dict(super().get_config(), d_model=self.d_model)


@keras.saving.register_keras_serializable(package="astromer")
class EncoderLayer(keras.layers.Layer):
  """Multi-head self-attention with the additive mask, then the tanh FFN; LayerNorm after each."""

  def __init__(self, d_model: int, num_heads: int, dff: int, dropout: float = 0.1,
               use_residuals: bool = False, **kwargs):
    super().__init__(**kwargs)
    if d_model % num_heads:
      raise ValueError("d_model {} is not divisible by num_heads {}".format(d_model, num_heads))
    self.d_model, self.num_heads, self.dff = d_model, num_heads, dff
    self.dropout_rate, self.use_residuals = dropout, use_residuals
    self.depth = d_model // num_heads
    self.wq = keras.layers.Dense(d_model, name="wq")
    self.wk = keras.layers.Dense(d_model, name="wk")
    self.wv = keras.layers.Dense(d_model, name="wv")
    self.dense = keras.layers.Dense(d_model, name="dense")
    self.ffn_1 = keras.layers.Dense(dff, activation="tanh", name="ffn_1")
    self.ffn_2 = keras.layers.Dense(d_model, name="ffn_2")
    self.layernorm1 = keras.layers.LayerNormalization(epsilon=1e-6, name="layernorm1")
    self.layernorm2 = keras.layers.LayerNormalization(epsilon=1e-6, name="layernorm2")
    self.dropout1 = keras.layers.Dropout(dropout)
    self.dropout2 = keras.layers.Dropout(dropout)

  def build(self, input_shape):
    x_shape = input_shape[0] if isinstance(input_shape, (list, tuple)) and isinstance(
        input_shape[0], (list, tuple)) else input_shape
    for layer in (self.wq, self.wk, self.wv):
      layer.build(x_shape)
    self.dense.build(x_shape[:-1] + (self.d_model,))
    self.ffn_1.build(x_shape[:-1] + (self.d_model,))
    self.ffn_2.build(x_shape[:-1] + (self.dff,))
    self.layernorm1.build(x_shape[:-1] + (self.d_model,))
    self.layernorm2.build(x_shape[:-1] + (self.d_model,))

  def _split(self, x):
    batch, steps = ops.shape(x)[0], ops.shape(x)[1]
    return ops.transpose(ops.reshape(x, (batch, steps, self.num_heads, self.depth)), (0, 2, 1, 3))

  def attention(self, x, mask):
    """(output [B, T, d_model], weights [B, heads, T, T])."""
    q, k, v = self._split(self.wq(x)), self._split(self.wk(x)), self._split(self.wv(x))
    logits = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) / np.float32(np.sqrt(self.depth))
    # min(1, m_i + m_j), added to every head's logits (the original's quirk).
    pair = ops.minimum(1.0, mask + ops.transpose(mask, (0, 2, 1)))
    weights = ops.softmax(logits + pair[:, None, :, :], axis=-1)
    out = ops.transpose(ops.matmul(weights, v), (0, 2, 1, 3))
    out = ops.reshape(out, (ops.shape(x)[0], ops.shape(x)[1], self.d_model))
    return self.dense(out), weights

  def call(self, inputs, training=False):
    x, mask = inputs
    attn, _ = self.attention(x, mask)
    attn = self.dropout1(attn, training=training)
    h = self.layernorm1(x + attn if self.use_residuals else attn)
    ffn = self.dropout2(self.ffn_2(self.ffn_1(h)), training=training)
    return self.layernorm2(h + ffn if self.use_residuals else ffn)

  def get_config(self):
    return dict(super().get_config(), d_model=self.d_model, num_heads=self.num_heads,
                dff=self.dff, dropout=self.dropout_rate, use_residuals=self.use_residuals)


def build_astromer(num_layers: int = 2, d_model: int = 200, num_heads: int = 2, dff: int = 256,
                   base: float = 10000.0, dropout: float = 0.1, maxlen: int = 100,
                   use_residuals: bool = False) -> keras.Model:
  """{"input", "times", "mask_in"} [B, maxlen, 1] -> {"embedding" [B, maxlen, d_model],
  "reconstruction" [B, maxlen, 1]}.

  `base` is accepted as in the original, whose encoding ignored it (always 10000).
  """
  del base  # The original's positional encoding never used it.
  magnitude = keras.Input((maxlen, 1), name="input")
  times = keras.Input((maxlen, 1), name="times")
  mask_in = keras.Input((maxlen, 1), name="mask_in")
  x = keras.layers.Dense(d_model, name="inp_transform")(magnitude)
  x = keras.layers.Add(name="add_positional_encoding")(
      # float32 even under mixed precision: sin/cos of times of thousands of days.
      [x, PositionalEncoding(d_model, name="positional_encoding", dtype="float32")(times)])
  x = keras.layers.Dropout(dropout, name="input_dropout")(x)
  for i in range(num_layers):
    x = EncoderLayer(d_model, num_heads, dff, dropout, use_residuals,
                     name="enc_layers_{}".format(i))([x, mask_in])
  embedding = x
  reconstruction = keras.layers.Dense(1, name="reg_layer")(
      keras.layers.LayerNormalization(epsilon=1e-6, name="bn_0")(embedding))
  return keras.Model({"input": magnitude, "times": times, "mask_in": mask_in},
                     {"embedding": embedding, "reconstruction": reconstruction}, name="astromer")
