"""AstroFCModel: locally fully connected layers over each time series (Keras 3).

With num_local_layers = 0 a feature passes through unchanged (the configs'
default, i.e. a fully connected model on the concatenated views). Otherwise
the first layer is optionally a wide Conv1D (kernel length - 2 *
translation_delta, 'valid') pooled over the 1 + 2 * translation_delta
positions (max or avg), then Dense(local_layer_size, ReLU) layers.
"""

from __future__ import annotations

import keras

from astronet.astro_model import astro_model
from astronet.astro_model.astro_model import scope_name


class AstroFCModel(astro_model.AstroModel):
  """Astronet locally fully connected model."""

  def time_series_hidden(self, name, inputs):
    hp = self.hparams["time_series_hidden"][name]
    num_layers = int(hp["num_local_layers"])
    if num_layers == 0:
      return inputs
    scope = name + "_hidden"
    net = inputs
    remaining = num_layers
    delta = int(hp.get("translation_delta", 0))
    if delta > 0:
      length = int(inputs.shape[1])
      net = keras.layers.Reshape((-1, 1), name=scope_name(scope, "expand_dims"))(net)
      net = keras.layers.Conv1D(int(hp["local_layer_size"]), length - 2 * delta,
                                padding="valid", activation="relu",
                                name=scope_name(scope, "conv1d"))(net)
      if hp["pooling_type"] == "max":
        net = keras.layers.GlobalMaxPooling1D(name=scope_name(scope, "max_pool"))(net)
      elif hp["pooling_type"] == "avg":
        net = keras.layers.GlobalAveragePooling1D(name=scope_name(scope, "avg_pool"))(net)
      else:
        raise ValueError("Unrecognized pooling_type: {}".format(hp["pooling_type"]))
      remaining -= 1
    for i in range(remaining):
      net = keras.layers.Dense(int(hp["local_layer_size"]), activation="relu",
                               name=scope_name(scope, "fully_connected_{}".format(i + 1)))(net)
      if hp.get("dropout_rate", 0) > 0:
        net = keras.layers.Dropout(hp["dropout_rate"],
                                   name=scope_name(scope, "dropout_{}".format(i + 1)))(net)
    return net
