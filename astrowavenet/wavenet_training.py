"""Training, evaluation and loading of AstroWaveNet models (the library behind trainer.py).

A model_dir holds config.json ({"model": "AstroWaveNet", "config", "dims"}),
checkpoints (resumed after an interruption), TensorBoard summaries and
model.keras and training.json: tf_util.model_dir's layout, written by
astronet.ops.training.Trainer, whose loop (tf_util.training_loop) this trainer
runs with the AstroWaveNet model, inputs and loss.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import tensorflow as tf

from astronet.ops import training
from astrowavenet import astrowavenet_model as awn
from astrowavenet.data import kepler_light_curves
from tf_util import errors
from tf_util import model_dir as model_dir_lib

MODEL_NAME = "AstroWaveNet"


class WaveNetTrainer(training.Trainer):
  """training.Trainer with the AstroWaveNet model, inputs and likelihood loss."""

  def __init__(self, config: Mapping, model_dir: str, autoregressive_dim: int = 1,
               conditioning_dim: int = 1, max_length: int = 1024, **kwargs):
    self.dims = (int(autoregressive_dim), int(conditioning_dim))
    self.max_length = max_length
    config = dict(config, dims=list(self.dims))
    super().__init__(MODEL_NAME, config, model_dir, **kwargs)

  def build_model(self):
    return awn.build_model(self.config["hparams"], *self.dims)

  def batch_loss(self, batch, training: bool = True):
    hparams = self.config["hparams"]
    features = {k: batch[k] for k in ("autoregressive_input", "conditioning_stack")}
    outputs = self.model(awn.shift_inputs(features, hparams), training=training)
    params = awn.distribution_params(outputs["dist_params"], hparams)
    return awn.losses(params, batch["autoregressive_input"], hparams,
                      batch.get("weights"))["total_loss"]

  def train_dataset(self, train_files, shuffle_buffer_size, seed):
    return kepler_light_curves.build_dataset(
        train_files, int(self.config["hparams"]["batch_size"]), training=True,
        max_length=self.max_length, shuffle_values_buffer=min(shuffle_buffer_size, 1000),
        seed=seed)

  def eval_metrics(self, eval_files):
    return evaluate(self.model, self.config, eval_files, self.max_length)


def evaluate(model, config: Mapping, file_pattern: str, max_length: int = 1024) -> dict:
  """{"loss": mean per-example loss (negative log-likelihood per step), "num_examples"}."""

  hparams = config["hparams"]
  per_example = []
  for batch in kepler_light_curves.build_dataset(
      file_pattern, int(hparams["batch_size"]), training=False, max_length=max_length):
    features = {k: batch[k] for k in ("autoregressive_input", "conditioning_stack")}
    outputs = model(awn.shift_inputs(features, hparams), training=False)
    params = awn.distribution_params(outputs["dist_params"], hparams)
    result = awn.losses(params, batch["autoregressive_input"], hparams, batch["weights"])
    weight = batch["weights"].numpy().reshape(len(features["autoregressive_input"]), -1)
    per_example.extend(result["per_example_loss"].numpy()[weight.sum(axis=1) > 0])
  return {"loss": float(np.mean(per_example)) if per_example else float("nan"),
          "num_examples": len(per_example)}


def load_model(model_dir: str):
  """(model, config) of a trainer model_dir (latest checkpoint)."""

  saved = model_dir_lib.read_config(model_dir)
  if saved is None:
    raise errors.CheckpointError("{} has no {}: not an AstroWaveNet model directory".format(
        model_dir, model_dir_lib.CONFIG_FILE))
  if saved.get("model") != MODEL_NAME:
    kind = saved.get("model") or ("an original TF1 model's config" if "hparams" in saved
                                  or "inputs" in saved else "another program's config")
    raise errors.CheckpointError(
        "{}/{} describes {}, not an AstroWaveNet trained by astrowavenet/trainer.py (an "
        "original TF1 AstroWaveNet checkpoint is imported with trainer.py "
        "--warm_start_from)".format(model_dir, model_dir_lib.CONFIG_FILE, kind))
  config = saved["config"]
  model = awn.build_model(config["hparams"], *config["dims"])
  if model_dir_lib.restore_latest(tf.train.Checkpoint(model=model), model_dir, partial=True,
                                  model_name=MODEL_NAME) is None:
    raise errors.CheckpointError("No checkpoint in {}".format(model_dir))
  return model, config
