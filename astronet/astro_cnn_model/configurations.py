"""AstroCNNModel configurations: `base` (global view) and `local_global`.

local_global gives 9,940,193 parameters for Kepler (2001/201 bins) and
2,026,721 for TESS (201/61 bins), as the originals.
"""

from __future__ import annotations

from astronet.astro_model import configurations as parent_configs


def _cnn(num_blocks: int, pool_size: int) -> dict:
  return {
      "cnn_num_blocks": num_blocks,
      "cnn_block_size": 2,
      "cnn_initial_num_filters": 16,
      "cnn_block_filter_factor": 2,
      "cnn_kernel_size": 5,
      "convolution_padding": "same",
      "pool_size": pool_size,
      "pool_strides": 2,
  }


def base(mission: str = "kepler") -> dict:
  """CNN over a single global view."""
  config = parent_configs.base(mission)
  config["hparams"]["time_series_hidden"] = {"global_view": _cnn(5, 5)}
  config["hparams"]["num_pre_logits_hidden_layers"] = 4
  config["hparams"]["pre_logits_hidden_layer_size"] = 1024
  return config


def local_global(mission: str = "kepler") -> dict:
  """Separate CNN towers over the global and the local view."""
  config = parent_configs.base(mission)
  config["inputs"]["features"] = parent_configs.local_global_features(mission)
  config["hparams"]["time_series_hidden"] = {
      "local_view": _cnn(2, 7),
      "global_view": _cnn(5, 5),
  }
  config["hparams"]["num_pre_logits_hidden_layers"] = 4
  config["hparams"]["pre_logits_hidden_layer_size"] = 512
  return config
