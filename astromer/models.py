"""`SingleBandEncoder`: the documented ASTROMER API (astromer 0.1.8), on Keras 3.

    from astromer.models import SingleBandEncoder
    model = SingleBandEncoder(num_layers=2, d_model=256, num_heads=4, dff=128, maxlen=200)
    model.load_weights("weights/macho")            # folder holding weights.index / .data
    embeddings = model.encode(light_curves, oids_list=ids, batch_size=32)

`encode` returns, for each object in SORTED id order (as the original), the
per-observation embeddings of its windows concatenated (overlapping windows
included, see astromer.preprocessing), or with concatenate=False the
per-batch [B, maxlen, d_model] arrays, padding included.
"""

from __future__ import annotations

import json as json_lib
import os
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from astromer import encoder
from astromer import preprocessing
from astromer import utils
from astromer import weights as weights_lib
from tf_util import atomic_io
from tf_util import distribute
from tf_util import inference
from tf_util import training_loop


class SingleBandEncoder:
  """ASTROMER v0 single-band encoder (see module docstring)."""

  def __init__(self, num_layers: int = 2, d_model: int = 200, num_heads: int = 2, dff: int = 256,
               base: float = 10000, dropout: float = 0.1, maxlen: int = 100,
               batch_size: int | None = None, use_residuals: bool = False):
    self.num_layers, self.d_model, self.num_heads, self.dff = num_layers, d_model, num_heads, dff
    self.base, self.dropout, self.maxlen, self.batch_size = base, dropout, maxlen, batch_size
    self.use_residuals = use_residuals
    self.model = encoder.build_astromer(num_layers, d_model, num_heads, dff, base, dropout,
                                        maxlen, use_residuals)

  def load_weights(self, weights_folder: str) -> "SingleBandEncoder":
    """Loads `weights_folder`/weights (TF checkpoint) or weights.h5 (Keras 2) into this architecture.

    Raises:
      CheckpointError: No checkpoint there, or variables / shapes that do not fit.
    """
    weights_lib.assign(self.model, weights_lib.read_weights(weights_folder, self.num_layers),
                       weights_folder)
    return self

  @classmethod
  def from_pretraining(cls, name: str = "macho", download: bool = True) -> "SingleBandEncoder":
    """The encoder with released pretrained weights: 'macho' (shipped with the
    package, works offline), 'atlas' (cache dir, or downloaded), ...

    Works called on the class or on an instance (the original, lacking
    @classmethod, silently loaded macho when called on the class).

    Raises:
      CheckpointError: Unknown or unavailable name, or weights that do not fit.
    """
    return cls.from_folder(utils.pretrained_folder(name, download))

  @classmethod
  def from_folder(cls, folder: str) -> "SingleBandEncoder":
    """The encoder described by folder/conf.json with the weights beside it (a `fit`
    project_path, an unpacked weights zip, or the original's weights folder).

    Raises:
      CheckpointError: No conf.json / weights there, or weights that do not fit.
    """
    conf = weights_lib.read_conf(folder)
    model = cls(num_layers=conf["num_layers"], d_model=conf["d_model"],
                num_heads=conf["num_heads"], dff=conf["dff"], dropout=conf["dropout"],
                maxlen=conf["maxlen"], use_residuals=conf["use_residuals"])
    weights_lib.assign(model.model, weights_lib.read_weights(folder, conf["num_layers"]), folder)
    return model

  def fit(self, train_batches, valid_batches, epochs: int = 2, patience: int = 40,
          lr: float = 0.001, project_path: str = ".", verbose: int = 0,
          distribution: str | None = None, mixed_precision: bool = False,
          jit_compile: bool = False) -> dict:
    """Masked-reconstruction training (pretraining or fine-tuning), as the original.

    Adam(lr, beta_1 0.9, beta_2 0.98, epsilon 1e-9); loss = RMSE of the masked
    reconstruction (`rmse`); the model runs with training=False as in the
    original (its dropout never fired). After each epoch the validation loss
    is computed; when it improves the weights are written to
    `project_path/weights` (original checkpoint layout, loadable by
    `load_weights(project_path)`); training stops after `patience` epochs
    without improvement. TensorBoard scalars 'mse' go to
    project_path/logs/{train,valid}. Returns {"train": [...], "valid": [...]}.

    Scale options (not in the original):
      distribution: "none", "mirrored" (the local GPUs), "one_device" or
        "multi_worker" (the workers of TF_CONFIG, each running this with the
        same project_path; worker 0 writes it). Each replica's RMSE over its
        share of the batch, averaged over replicas.
      mixed_precision: float16 compute with float32 weights and loss, dynamic
        loss scaling (GPUs).
      jit_compile: XLA-compiled train step.
    """


    del verbose  # Ignored, as in the original.
    strategy = distribute.make_strategy(distribution)
    chief = distribute.is_chief(strategy)
    # Non-chief workers of a multi-worker run write a scratch copy, removed at the end.
    write_path = project_path if chief else distribute.write_dir(project_path, strategy)
    os.makedirs(write_path, exist_ok=True)
    if distribution not in (None, "none") or mixed_precision:
      self._rebuild(strategy, mixed_precision)
    with strategy.scope():
      optimizer = training_loop.wrap_optimizer(
          keras.optimizers.Adam(lr, beta_1=0.9, beta_2=0.98, epsilon=1e-9), mixed_precision)

    def batch_loss(batch):
      reconstruction = self.model(_model_inputs(batch), training=False)["reconstruction"]
      return rmse(tf.cast(reconstruction, tf.float32), batch)

    train_step = training_loop.make_train_step(
        batch_loss, lambda: [self.model.trainable_variables], [optimizer], strategy, jit_compile)
    valid_step = tf.function(batch_loss, reduce_retracing=True)

    if distribution not in (None, "none"):
      if not isinstance(train_batches, tf.data.Dataset):
        raise ValueError("--distribution needs train_batches as a tf.data.Dataset")
      # Only the numeric tensors the step uses (ids and labels are strings).
      train_batches = strategy.experimental_distribute_dataset(
          train_batches.map(_training_tensors))
    elif jit_compile:
      train_batches = (train_batches.map(_training_tensors)
                       if isinstance(train_batches, tf.data.Dataset)
                       else [_training_tensors(b) for b in train_batches])
    writers = {split: tf.summary.create_file_writer(os.path.join(write_path, "logs", split))
               for split in ("train", "valid")}
    history = {"train": [], "valid": []}
    progress = {"best": np.inf, "waited": 0}

    def on_epoch_end(epoch: int, train_loss: float) -> bool:
      valid_loss = float(np.mean([float(valid_step(b)) for b in valid_batches]))
      history["train"].append(train_loss)
      history["valid"].append(valid_loss)
      for split, value in (("train", train_loss), ("valid", valid_loss)):
        with writers[split].as_default(step=epoch):
          tf.summary.scalar("mse", value)
      if valid_loss < progress["best"]:
        progress.update(best=valid_loss, waited=0)
        weights_lib.save_checkpoint(self.model, os.path.join(write_path, "weights"))
        with open(os.path.join(write_path, "conf.json"), "w") as f:
          json_lib.dump(self.conf(), f, indent=1)
        return False
      progress["waited"] += 1
      return progress["waited"] >= patience

    training_loop.run_epochs(train_step, train_batches, epochs, on_epoch_end)
    if not chief:
      distribute.remove_write_dir(write_path)
    return history

  def _rebuild(self, strategy, mixed_precision: bool) -> None:
    """The same encoder and weights, built under `strategy` (and mixed_float16)."""
    weights = self.model.get_weights()
    with training_loop.compute_policy(mixed_precision), strategy.scope():
      model = encoder.build_astromer(self.num_layers, self.d_model, self.num_heads, self.dff,
                                     self.base, self.dropout, self.maxlen, self.use_residuals)
      model.set_weights(weights)
    self.model = model

  def export_onnx(self, path: str) -> str:
    """Writes the encoder ({"input", "times", "mask_in"} -> embedding) as ONNX (extra `onnx`)."""

    embedding = [t for t in self.model.outputs if t.shape[-1] == self.d_model][0]
    encoder_only = keras.Model(self.model.inputs, embedding, name="astromer_encoder")
    zeros = {k: np.zeros([1, self.maxlen, 1], np.float32) for k in ("input", "times", "mask_in")}
    encoder_only(zeros)
    with atomic_io.atomic_path(path) as tmp:
      encoder_only.export(tmp, format="onnx", verbose=False)
    return path

  def conf(self) -> dict:
    """conf.json of this architecture (the original's keys)."""
    return {"layers": self.num_layers, "head_dim": self.d_model, "heads": self.num_heads,
            "dff": self.dff, "dropout": self.dropout, "base": self.base,
            "max_obs": self.maxlen, "use_leak": self.use_residuals}

  def _predict(self, windows: dict, batch_size: int) -> np.ndarray:
    embed = inference.predict_function(self.model, output="embedding")
    outputs = []
    for start in range(0, len(windows["length"]), batch_size):
      batch = {k: windows[k][start:start + batch_size] for k in ("input", "times", "mask_in")}
      outputs.append(embed(batch).numpy())
    return np.concatenate(outputs) if outputs else np.zeros([0, self.maxlen, self.d_model])

  def encode(self, dataset: Sequence, oids_list: Sequence | None = None, labels=None,
             batch_size: int = 1, concatenate: bool = True) -> list:
    """Embeddings of light curves (each (L, 3): time, magnitude, error).

    Raises:
      ValueError: A light curve with < 2 points, NaNs, another column count,
        unsorted times; ids and curves of different lengths.
    """
    del labels  # Accepted as in the original; not used by encode.
    ids = [str(i) for i in range(len(dataset))] if oids_list is None else [
        str(i) for i in oids_list]
    if len(ids) != len(dataset):
      raise ValueError("{} light curves but {} ids".format(len(dataset), len(ids)))
    if len(set(ids)) != len(ids):
      # Embeddings are gathered by id: a repeated id would silently join two curves.
      seen, repeated = set(), []
      for i in ids:
        if i in seen and i not in repeated:
          repeated.append(i)
        seen.add(i)
      raise ValueError("oids_list gives the same id to several light curves: {}".format(
          ", ".join(repr(i) for i in repeated[:10])))
    windows = preprocessing.windows_of(dataset, ids, self.maxlen)
    embeddings = self._predict(windows, max(int(batch_size), 1))
    if not concatenate:
      return [embeddings[i:i + batch_size] for i in range(0, len(embeddings), batch_size)]
    result = []
    for oid in np.unique(windows["id"]):
      rows = np.nonzero(windows["id"] == oid)[0]
      parts = embeddings[rows].reshape(-1, self.d_model)
      result.append(parts[:int(windows["length"][rows].sum())])
    return result


def _model_inputs(batch) -> dict:
  return {k: batch[k] for k in ("input", "times", "mask_in")}


def _training_tensors(batch) -> dict:
  """The parts of a batch the train step reads (XLA and replicas take no strings)."""
  return {key: batch[key] for key in ("input", "times", "mask_in", "mask_out", "output")}


def rmse(reconstruction, batch):
  """sqrt(mean over the batch of the per-window masked mean squared error) (the original's loss)."""
  mask = tf.cast(batch["mask_out"], tf.float32)
  squared = mask * tf.square(tf.cast(batch["output"], tf.float32) - reconstruction)
  per_window = tf.math.divide_no_nan(tf.reduce_sum(squared, axis=[1, 2]),
                                     tf.reduce_sum(mask, axis=[1, 2]))
  return tf.sqrt(tf.reduce_mean(per_window))
