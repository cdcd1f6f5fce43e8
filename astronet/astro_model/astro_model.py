"""AstroModel: the base Astronet model as a Keras 3 functional model.

    time series features        auxiliary features
      (global_view, ...)          (e.g. Period)
             |                          |
      time_series_hidden         aux_hidden (identity)
             \\______ pre_logits_concat ___/     (sorted by feature name)
                          |
             pre_logits_hidden: Dense(ReLU) x N (+ dropout)
                          |
                    logits: Dense(output_dim)

Subclasses (AstroCNNModel, AstroFCModel) override `time_series_hidden`. The
model outputs LOGITS [batch, output_dim]; probabilities are sigmoid (output_dim
1) or softmax of them (see `predictions`).

Layer names are the TF1 variable scopes of the originals with "/" written "."
(Keras 3 forbids "/"): e.g. `global_view_hidden.block_1.conv_1`,
`pre_logits_hidden.fully_connected_1`, `logits`; `tf1_scope(layer.name)` gives
the original scope, so each TF1 variable has one obvious Keras home.
"""

from __future__ import annotations

from collections.abc import Mapping

import keras

SCOPE_SEPARATOR = "."


def scope_name(*parts: str) -> str:
  """Keras layer name of a TF1 variable scope path."""
  return SCOPE_SEPARATOR.join(parts)


def tf1_scope(layer_name: str) -> str:
  """TF1 variable scope of a Keras layer name (inverse of `scope_name`)."""
  return layer_name.replace(SCOPE_SEPARATOR, "/")


class AstroModel:
  """Builds a Keras model from an Astronet config ({"inputs", "hparams"})."""

  def __init__(self, config: Mapping):
    self.config = config
    self.hparams = config["hparams"]
    self.features = config["inputs"]["features"]
    if not self.features:
      raise ValueError("The config has no input features")

  def time_series_hidden(self, name: str, inputs: keras.KerasTensor) -> keras.KerasTensor:
    """Hidden layers of one time series feature [batch, length] -> [batch, n]."""
    del name
    return inputs

  def aux_hidden(self, name: str, inputs: keras.KerasTensor) -> keras.KerasTensor:
    """Hidden layers of one auxiliary feature (identity, as the original)."""
    del name
    return inputs

  def inputs(self) -> dict[str, keras.KerasTensor]:
    return {name: keras.Input(shape=(int(spec["length"]),), name=name,
                              dtype="float32")
            for name, spec in sorted(self.features.items())}

  def build(self, name: str | None = None) -> keras.Model:
    inputs = self.inputs()
    hidden = []
    for feature, tensor in sorted(inputs.items()):
      if self.features[feature].get("is_time_series", True):
        hidden.append((0, feature, self.time_series_hidden(feature, tensor)))
      else:
        hidden.append((1, feature, self.aux_hidden(feature, tensor)))
    # Time series first, then aux, each sorted by name (as the originals).
    hidden = [h for _, _, h in sorted(hidden, key=lambda t: (t[0], t[1]))]
    net = hidden[0] if len(hidden) == 1 else keras.layers.Concatenate(
        axis=1, name="pre_logits_concat")(hidden)
    hp = self.hparams
    for i in range(int(hp.get("num_pre_logits_hidden_layers", 0))):
      net = keras.layers.Dense(
          int(hp["pre_logits_hidden_layer_size"]), activation="relu",
          name=scope_name("pre_logits_hidden", "fully_connected_{}".format(i + 1)))(net)
      if hp.get("pre_logits_dropout_rate", 0) > 0:
        net = keras.layers.Dropout(
            hp["pre_logits_dropout_rate"],
            name=scope_name("pre_logits_hidden", "dropout_{}".format(i + 1)))(net)
    logits = keras.layers.Dense(int(hp.get("output_dim", 1)), name="logits",
                                dtype="float32")(net)
    return keras.Model(inputs=inputs, outputs=logits,
                       name=name or type(self).__name__)


def predictions(logits, output_dim: int = 1):
  """Probabilities from logits: sigmoid (output_dim 1) or softmax."""
  if output_dim == 1:
    return keras.ops.sigmoid(logits)
  return keras.ops.softmax(logits, axis=-1)
