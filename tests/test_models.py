"""Model registry, configurations, parameter counts and layer names."""

import numpy as np
import pytest

from astronet import models
from astronet.astro_model import astro_model
from astronet.util import config_util


@pytest.mark.parametrize("mission,expected", [("kepler", 9_940_193), ("tess", 2_026_721)])
def test_astro_cnn_local_global_parameter_counts(mission, expected):
  config = models.get_model_config("AstroCNNModel", "local_global", mission)
  model = models.build_model("AstroCNNModel", config)
  assert model.count_params() == expected


def test_layer_names_map_to_tf1_scopes():
  config = models.get_model_config("AstroCNNModel", "local_global", "tess")
  model = models.build_model("AstroCNNModel", config)
  variables = {astro_model.tf1_scope(v.path.rsplit("/", 1)[0]) + "/" + v.name: tuple(v.shape)
               for v in model.weights}
  assert variables["global_view_hidden/block_5/conv_2/kernel"] == (5, 256, 256)
  assert variables["local_view_hidden/block_2/conv_1/bias"] == (32,)
  assert variables["pre_logits_hidden/fully_connected_1/kernel"] == (768 + 352, 512)
  assert variables["logits/kernel"] == (512, 1)
  assert len(variables) == 2 * (10 + 4 + 4 + 1)


def test_other_models_and_configs():
  kepler_base = models.get_model_config("AstroCNNModel", "base", "kepler")
  assert kepler_base["inputs"]["features"] == {"global_view": {"length": 2001,
                                                               "is_time_series": True}}
  assert kepler_base["hparams"]["batch_size"] == 256
  tess = models.get_model_config("AstroFCModel", "local_global", "tess")
  assert tess["inputs"]["label_map"]["EB"] == 1 and tess["hparams"]["learning_rate"] == 1e-5
  fc = models.build_model("AstroFCModel", tess)
  assert fc.count_params() == (201 + 61) * 1 + 1  # views straight into the logits
  overridden = config_util.apply_overrides(tess, '{"hparams": {"time_series_hidden": '
                                           '{"global_view": {"num_local_layers": 2, '
                                           '"translation_delta": 3}}}}')
  fc2 = models.build_model("AstroFCModel", overridden)
  out = fc2({"global_view": np.zeros((2, 201), "float32"),
             "local_view": np.zeros((2, 61), "float32")})
  assert tuple(out.shape) == (2, 1)
  assert models.build_model("AstroModel", models.get_model_config(
      "AstroModel", "base", "tess")).count_params() == 202


def test_bad_names_and_overrides():
  with pytest.raises(ValueError, match="Unknown model 'AstroRNN'"):
    models.get_model_class("AstroRNN")
  with pytest.raises(ValueError, match="Unknown config 'global_local'"):
    models.get_model_config("AstroCNNModel", "global_local")
  with pytest.raises(ValueError, match="Unknown mission 'k2'"):
    models.get_model_config("AstroCNNModel", "local_global", "k2")
  config = models.get_model_config("AstroCNNModel", "local_global")
  with pytest.raises(ValueError, match="hparams.learning_rat'"):
    config_util.apply_overrides(config, '{"hparams": {"learning_rat": 1}}')
  with pytest.raises(ValueError, match="not valid JSON"):
    config_util.apply_overrides(config, "{hparams")
