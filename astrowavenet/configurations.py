"""AstroWaveNet configurations (the original's values): "base" (= "normal") and "categorical"."""

from __future__ import annotations


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
