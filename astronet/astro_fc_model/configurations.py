"""AstroFCModel configurations: `base` (global view) and `local_global`."""

from __future__ import annotations

from astronet.astro_model import configurations as parent_configs


def _fc(num_local_layers: int) -> dict:
  return {
      "num_local_layers": num_local_layers,
      "local_layer_size": 128,
      # Width of the wide convolution is length - 2 * translation_delta.
      "translation_delta": 0,
      "pooling_type": "max",
      "dropout_rate": 0.0,
  }


def base(mission: str = "kepler") -> dict:
  config = parent_configs.base(mission)
  config["hparams"]["time_series_hidden"] = {"global_view": _fc(0)}
  return config


def local_global(mission: str = "kepler") -> dict:
  config = parent_configs.base(mission)
  config["inputs"]["features"] = parent_configs.local_global_features(mission)
  config["hparams"]["time_series_hidden"] = {
      "local_view": _fc(0),
      "global_view": _fc(0),
  }
  return config
