"""The flare transformer (and the CNN baseline) as Keras 3 models.

Transformer: Dense input embedding (3 -> d_model) + sinusoidal positional
encoding (Vaswani et al.) -> dropout -> num_layers post-norm encoder layers
(multi-head self-attention, d_ff ReLU feed-forward, residuals + LayerNorm, as
PyTorch's nn.TransformerEncoderLayer the thesis used) -> Flatten -> Dense 512
ReLU -> dropout -> Dense 128 ReLU -> dropout -> Dense 1 sigmoid.
Input [batch, max_seq_len, 3]; output flare probability [batch, 1].
`attention_model(model)` returns the per-layer attention weights
[batch, num_heads, max_seq_len, max_seq_len] for visualisation.

CNN baseline: stella's architecture (flare_transformer.stella.build_stella_cnn)
on the same [batch, 100, 3] windows.
"""

from __future__ import annotations

import os

import keras
import numpy as np
from keras import ops

from flare_transformer import stella
from tf_util import errors


def positional_encoding(length: int, d_model: int) -> np.ndarray:
  """[length, d_model]: sin on even, cos on odd channels, wavelengths up to 10000 * 2 pi."""
  position = np.arange(length)[:, None]
  rate = np.exp(-np.log(10000.0) * (np.arange(0, d_model, 2) / d_model))
  encoding = np.zeros((length, d_model), np.float32)
  encoding[:, 0::2] = np.sin(position * rate)
  encoding[:, 1::2] = np.cos(position * rate)[:, :d_model // 2]
  return encoding


@keras.saving.register_keras_serializable("flare_transformer")
class PositionalEncoding(keras.layers.Layer):
  """Adds the fixed sinusoidal encoding to [batch, length, d_model] inputs."""

  def call(self, inputs):
    length, d_model = inputs.shape[1], inputs.shape[2]
    return inputs + ops.cast(positional_encoding(length, d_model)[None], inputs.dtype)


@keras.saving.register_keras_serializable("flare_transformer")
class EncoderLayer(keras.layers.Layer):
  """Post-norm transformer encoder layer; call returns (outputs, attention weights)."""

  def __init__(self, d_model: int, num_heads: int, d_ff: int, dropout: float, **kwargs):
    super().__init__(**kwargs)
    self.d_model, self.num_heads, self.d_ff, self.rate = d_model, num_heads, d_ff, dropout
    self.attention = keras.layers.MultiHeadAttention(num_heads, d_model // num_heads,
                                                     dropout=dropout, name="self_attention")
    self.ffn_1 = keras.layers.Dense(d_ff, activation="relu", name="ffn_1")
    self.ffn_2 = keras.layers.Dense(d_model, name="ffn_2")
    self.norm_1 = keras.layers.LayerNormalization(epsilon=1e-5, name="norm_1")
    self.norm_2 = keras.layers.LayerNormalization(epsilon=1e-5, name="norm_2")
    self.dropout_1 = keras.layers.Dropout(dropout)
    self.dropout_2 = keras.layers.Dropout(dropout)
    self.dropout_ffn = keras.layers.Dropout(dropout)

  def build(self, input_shape):
    self.attention.build(input_shape, input_shape)
    self.norm_1.build(input_shape)
    self.ffn_1.build(input_shape)
    self.ffn_2.build(tuple(input_shape[:-1]) + (self.d_ff,))
    self.norm_2.build(input_shape)

  def call(self, x, training=False):
    attended, weights = self.attention(x, x, return_attention_scores=True, training=training)
    x = self.norm_1(x + self.dropout_1(attended, training=training))
    hidden = self.dropout_ffn(self.ffn_1(x), training=training)
    x = self.norm_2(x + self.dropout_2(self.ffn_2(hidden), training=training))
    return x, weights

  def compute_output_spec(self, x, training=False):
    weights = keras.KerasTensor((x.shape[0], self.num_heads, x.shape[1], x.shape[1]), x.dtype)
    return keras.KerasTensor(x.shape, x.dtype), weights

  def get_config(self):
    return dict(super().get_config(), d_model=self.d_model, num_heads=self.num_heads,
                d_ff=self.d_ff, dropout=self.rate)


def build_transformer(input_dim: int = 3, d_model: int = 256, num_heads: int = 8,
                      num_layers: int = 2, d_ff: int = 512, max_seq_len: int = 100,
                      dropout: float = 0.1, **unused) -> keras.Model:
  """The flare transformer (see module docstring); outputs "probability" and, per layer,
  "attention_<i>"."""
  del unused
  inputs = keras.Input((max_seq_len, input_dim), name="window")
  x = keras.layers.Dense(d_model, name="input_embedding")(inputs)
  x = PositionalEncoding(name="positional_encoding")(x)
  x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
  attention = {}
  for i in range(num_layers):
    x, attention["attention_{}".format(i)] = EncoderLayer(
        d_model, num_heads, d_ff, dropout, name="encoder_layer_{}".format(i))(x)
  x = keras.layers.Flatten(name="flatten")(x)
  x = keras.layers.Dense(512, activation="relu", name="dense_512")(x)
  x = keras.layers.Dropout(dropout, name="dropout_512")(x)
  x = keras.layers.Dense(128, activation="relu", name="dense_128")(x)
  x = keras.layers.Dropout(dropout, name="dropout_128")(x)
  probability = keras.layers.Dense(1, activation="sigmoid", name="probability", dtype="float32")(x)
  model = keras.Model(inputs, probability, name="flare_transformer")
  model.attention_outputs = attention  # for attention_model (not saved; rebuilt on load)
  return model


def attention_model(model: keras.Model) -> keras.Model:
  """window -> {"probability", "attention_<i>" [batch, heads, T, T]} sharing `model`'s layers."""
  x = model.get_layer("input_embedding")(model.input)
  x = model.get_layer("positional_encoding")(x)
  outputs = {}
  i = 0
  while True:
    try:
      layer = model.get_layer("encoder_layer_{}".format(i))
    except ValueError:
      break
    x, outputs["attention_{}".format(i)] = layer(x)
    i += 1
  if not outputs:
    raise ValueError("{} has no encoder layers (a CNN?): no attention to show".format(model.name))
  for name in ("flatten", "dense_512", "dense_128", "probability"):
    x = model.get_layer(name)(x)
  outputs["probability"] = x
  return keras.Model(model.input, outputs, name="flare_transformer_attention")


def build_model(model_config: dict) -> keras.Model:
  """The model of a config's `model` section (architecture transformer or cnn)."""
  if model_config.get("architecture", "transformer") == "cnn":
    return stella.build_stella_cnn(model_config["max_seq_len"], model_config["dropout"],
                                   model_config["input_dim"])
  return build_transformer(**model_config)


def load_model(path: str, compile: bool = False) -> keras.Model:  # pylint: disable=redefined-builtin
  """A flare model (transformer or CNN baseline) saved as .keras by training.

  compile=True restores the optimizer and loss too (resuming training).

  Importing this module registers the custom layers (PositionalEncoding,
  EncoderLayer) that loading needs.

  Raises:
    CheckpointError: No such file, not a .keras file, a model of another
      family (e.g. an Astronet model, whose inputs are global_view /
      local_view), or one that cannot be loaded.
  """

  if not os.path.isfile(path):
    raise errors.CheckpointError("Flare model {} does not exist (give a .keras file, e.g. "
                                 "RUN/checkpoints/best_model.keras)".format(path))
  if not path.endswith(".keras"):
    raise errors.CheckpointError("Flare model {} is not a .keras file".format(path))
  try:
    model = keras.models.load_model(path, compile=compile)
  except (ValueError, OSError, TypeError, KeyError, AttributeError) as e:
    reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    raise errors.CheckpointError("Cannot load flare model {}: {}".format(path, reason)) from None
  shape = model.input_shape if not isinstance(model.input_shape, dict) else None
  if (isinstance(model.input, dict) or shape is None or len(shape) != 3 or
      shape[-1] not in (1, 2, 3) or shape[1] is None):
    names = sorted(model.input) if isinstance(model.input, dict) else getattr(
        model.input, "name", model.input_shape)
    raise errors.CheckpointError(
        "{} is not a flare model: it takes {} (flare models take windows [batch, cadences, "
        "features])".format(path, names))
  return model
