"""AstroWaveNet configurations (the original's values): "base" (= "normal") and "categorical"."""

from __future__ import annotations

from tf_util import errors


def base() -> dict:
  """Normal output distribution; 4 blocks x dilations 1..16."""
  return {
      "hparams": {
          "batch_size": 64,
          # Whether the conditioning stack may look at the predicted step.
          "use_future_context": False,
          "predict_n_steps_ahead": 1,
          "dilation_kernel_width": 2,
          "skip_output_dim": 10,
          "preprocess_output_size": 3,
          "preprocess_kernel_width": 10,
          "num_residual_blocks": 4,
          "dilation_rates": [1, 2, 4, 8, 16],
          "output_distribution": {
              "type": "normal",
              "min_scale": 0.001,
              "predict_outlier_distribution": False,
          },
          "learning_rate": 1e-6,
          "learning_rate_decay_steps": 0,
          "learning_rate_decay_factor": 0,
          "learning_rate_decay_staircase": True,
          "optimizer": "adam",
          # The original checked `clip_grad_norm`, so this never took effect there.
          "clip_gradient_norm": 1,
      }
  }


def categorical() -> dict:
  """Values clipped to [-1, 1] and split into 256 equal classes."""
  config = base()
  config["hparams"]["output_distribution"] = {
      "type": "categorical",
      "num_classes": 256,
      "min_quantization_value": -1,
      "max_quantization_value": 1,
  }
  return config


def get_config(config_name: str) -> dict:
  """The configuration called `config_name` ("base", "normal" or "categorical")."""
  if config_name in ("base", "normal"):
    return base()
  if config_name == "categorical":
    return categorical()
  raise ValueError("Unrecognized config name: {!r} (base, normal, categorical)".format(
      config_name))


def validate_config(config: dict) -> None:
  """Checks the types and ranges of an AstroWaveNet config (before a model_dir exists).

  Raises:
    ConfigError: Names the key, its value and what is expected.
  """

  def positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1

  def bad(key, value, expected):
    raise errors.ConfigError("config hparams.{}: {!r} is not {}".format(key, value, expected))

  hparams = config.get("hparams")
  if not isinstance(hparams, dict):
    raise errors.ConfigError("config needs an 'hparams' object")
  for key in ("batch_size", "predict_n_steps_ahead", "dilation_kernel_width",
              "skip_output_dim", "preprocess_output_size", "preprocess_kernel_width",
              "num_residual_blocks"):
    if not positive_int(hparams.get(key)):
      bad(key, hparams.get(key), "an integer >= 1")
  rates = hparams.get("dilation_rates")
  if not isinstance(rates, list) or not rates or not all(positive_int(r) for r in rates):
    bad("dilation_rates", rates, "a non-empty list of integers >= 1")
  rate = hparams.get("learning_rate")
  if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0:
    bad("learning_rate", rate, "a number > 0")
  distribution = hparams.get("output_distribution") or {}
  if distribution.get("type") not in ("normal", "categorical"):
    bad("output_distribution.type", distribution.get("type"), "'normal' or 'categorical'")
  if distribution["type"] == "categorical" and not positive_int(distribution.get("num_classes")):
    bad("output_distribution.num_classes", distribution.get("num_classes"), "an integer >= 1")
