"""Model registry: model names -> model classes and their configurations.

  config = models.get_model_config("AstroCNNModel", "local_global", "tess")
  model = models.get_model_class("AstroCNNModel")(config).build()
"""

from __future__ import annotations

from astronet.astro_cnn_model import astro_cnn_model
from astronet.astro_cnn_model import configurations as astro_cnn_configurations
from astronet.astro_fc_model import astro_fc_model
from astronet.astro_fc_model import configurations as astro_fc_configurations
from astronet.astro_model import astro_model
from astronet.astro_model import configurations as astro_configurations

_MODELS = {
    "AstroModel": (astro_model.AstroModel, astro_configurations),
    "AstroFCModel": (astro_fc_model.AstroFCModel, astro_fc_configurations),
    "AstroCNNModel": (astro_cnn_model.AstroCNNModel, astro_cnn_configurations),
}
_CONFIG_NAMES = ("base", "local_global")


def _entry(model_name: str):
  if model_name not in _MODELS:
    raise ValueError("Unknown model {!r}; expected one of {}".format(
        model_name, sorted(_MODELS)))
  return _MODELS[model_name]


def get_model_class(model_name: str):
  """The model class called `model_name` (AstroModel, AstroFCModel, AstroCNNModel)."""
  return _entry(model_name)[0]


def get_model_config(model_name: str, config_name: str,
                     mission: str = "kepler") -> dict:
  """The named configuration ("base" or "local_global") for a mission."""
  configurations = _entry(model_name)[1]
  if config_name not in _CONFIG_NAMES or not hasattr(configurations, config_name):
    available = [n for n in _CONFIG_NAMES if hasattr(configurations, n)]
    raise ValueError("Unknown config {!r} for {}; expected one of {}".format(
        config_name, model_name, available))
  return getattr(configurations, config_name)(mission)


def build_model(model_name: str, config: dict):
  """Builds the Keras model of `model_name` for `config`."""
  return get_model_class(model_name)(config).build()
