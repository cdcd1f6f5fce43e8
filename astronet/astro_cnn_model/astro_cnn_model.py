"""AstroCNNModel: 1D convolutional towers over the time series (Keras 3).

Each tower: expand to [batch, length, 1]; `cnn_num_blocks` blocks of
`cnn_block_size` Conv1D (ReLU, `convolution_padding`) with
cnn_initial_num_filters * cnn_block_filter_factor**i filters, each block
followed by MaxPool1D(pool_size, pool_strides, 'valid') when pool_size > 1;
then a row-major flatten. Layer names: `{feature}_hidden.block_{i}.conv_{j}`.
"""

from __future__ import annotations

import keras

from astronet.astro_model import astro_model
from astronet.astro_model.astro_model import scope_name


class AstroCNNModel(astro_model.AstroModel):
  """Astronet CNN (Shallue & Vanderburg 2018; Yu et al. 2019)."""

  def time_series_hidden(self, name, inputs):
    hp = self.hparams["time_series_hidden"][name]
    scope = name + "_hidden"
    net = keras.layers.Reshape((-1, 1), name=scope_name(scope, "expand_dims"))(inputs)
    for i in range(int(hp["cnn_num_blocks"])):
      block = "block_{}".format(i + 1)
      filters = int(hp["cnn_initial_num_filters"] * hp["cnn_block_filter_factor"]**i)
      for j in range(int(hp["cnn_block_size"])):
        net = keras.layers.Conv1D(
            filters, int(hp["cnn_kernel_size"]), padding=hp["convolution_padding"],
            activation="relu", name=scope_name(scope, block, "conv_{}".format(j + 1)))(net)
      if int(hp["pool_size"]) > 1:  # 0 or 1: no pooling
        net = keras.layers.MaxPool1D(int(hp["pool_size"]), int(hp["pool_strides"]),
                                     padding="valid", name=scope_name(scope, block, "pool"))(net)
    return keras.layers.Flatten(name=scope_name(scope, "flatten"))(net)
