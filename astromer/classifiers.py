"""Downstream classifiers on ASTROMER embeddings (the original's ASTROMER.core.classifier).

Heads (window-level; inputs {"embedding" [B, maxlen, d_model], "mask_in" [B, maxlen, 1]}):
* "lstm" (the original's get_lstm_attention): LayerNorm -> LSTM(units) ->
  LayerNorm -> LSTM(units) -> LayerNorm -> Dense(num_classes), the LSTMs
  masked by mask_in and returning sequences; logits are per step
  [B, maxlen, C]. Keras copies the last valid output into masked steps, so
  the logits at the last step are those of the last real observation (what the
  original predicted from).
* "mlp" (the original's get_fc_attention): masked mean of the embeddings over
  the real observations -> Dense 1024 -> Dense 512 -> Dense(num_classes), no
  activations in between as in the original (`activation=` switches them on).

Baseline without the encoder: `build_lstm_baseline` (the original's
get_lstm_no_attention: LSTMs over [time, magnitude], LayerNorm over the time axis).

Loss (`sequence_cross_entropy`, the original's custom_bce): softmax cross
entropy; for per-step logits summed over the steps (masked steps included,
holding the last valid step's logits), averaged over the batch.
"""

from __future__ import annotations

import os

import keras
import numpy as np
from keras import ops

import astromer
from tf_util import atomic_io

HEADS = astromer.HEADS


class DropMask(keras.layers.Layer):
  """Identity that ends Keras mask propagation: the loss sums over every step (the original's)
  and must not be re-weighted by the LSTM's mask."""

  def call(self, inputs):
    return inputs * 1.0  # a new tensor: the input's mask attribute must not carry over

  def compute_mask(self, inputs, mask=None):
    return None


def _valid_steps(mask_in):
  """[B, T] bool, True on real observations (mask_in is 1 on padding)."""
  return ops.logical_not(ops.cast(ops.squeeze(mask_in, -1), "bool"))


def _lstm_stack(x, valid, units: int, dropout: float, norm_axis: int):
  for i in range(2):
    x = keras.layers.LSTM(units, return_sequences=True, dropout=dropout,
                          name="RNN_{}".format(i))(x, mask=valid)
    x = keras.layers.LayerNormalization(axis=norm_axis, name="norm_rnn_{}".format(i))(x)
  return x


def build_head(head: str, num_classes: int, maxlen: int, d_model: int, units: int = 256,
               dropout: float = 0.5, activation: str | None = None) -> keras.Model:
  """The classifier head on embeddings (see module docstring)."""
  if head not in HEADS:
    raise ValueError("unknown head {!r}; choose one of {}".format(head, HEADS))
  embedding = keras.Input((maxlen, d_model), name="embedding")
  mask_in = keras.Input((maxlen, 1), name="mask_in")
  if head == "lstm":
    x = keras.layers.LayerNormalization(name="norm_embedding")(embedding)
    x = _lstm_stack(x, _valid_steps(mask_in), units, dropout, -1)
    logits = DropMask(name="logits")(keras.layers.Dense(num_classes, name="FCN")(x))
  else:
    valid = 1.0 - mask_in
    x = ops.sum(embedding * valid, axis=1) / ops.maximum(ops.sum(valid, axis=1), 1.0)
    x = keras.layers.Dense(1024, activation=activation, name="FCN1")(x)
    x = keras.layers.Dense(512, activation=activation, name="FCN2")(x)
    logits = keras.layers.Dense(num_classes, name="FCN3")(x)
  return keras.Model({"embedding": embedding, "mask_in": mask_in}, logits,
                     name="{}_head".format(head))


def build_classifier(encoder_model: keras.Model, head: keras.Model,
                     trainable_encoder: bool) -> keras.Model:
  """{"input", "times", "mask_in"} -> head logits, through the ASTROMER encoder.

  trainable_encoder=False is scenario (a) (frozen), True scenarios (b)/(c).
  """
  # The encoder without its reconstruction layers (they would get no gradient).
  embedder = keras.Model(encoder_model.input, encoder_model.output["embedding"],
                         name="astromer_encoder")
  for layer in embedder.layers:  # per layer: they may be shared with an earlier, frozen embedder
    layer.trainable = trainable_encoder
  embedder.trainable = trainable_encoder
  inputs = {k: keras.Input(encoder_model.input[k].shape[1:], name=k)
            for k in ("input", "times", "mask_in")}
  embedding = embedder(inputs)
  logits = head({"embedding": embedding, "mask_in": inputs["mask_in"]})
  return keras.Model(inputs, logits, name="astromer_classifier")


def build_lstm_baseline(num_classes: int, maxlen: int, units: int = 256,
                        dropout: float = 0.5) -> keras.Model:
  """LSTM on the windows themselves ({"input", "times", "mask_in"} -> per-step logits)."""
  inputs = {k: keras.Input((maxlen, 1), name=k) for k in ("input", "times", "mask_in")}
  x = ops.concatenate([inputs["times"], inputs["input"]], axis=-1)
  x = _lstm_stack(x, _valid_steps(inputs["mask_in"]), units, dropout, 1)
  logits = DropMask(name="logits")(keras.layers.Dense(num_classes, name="FCN")(x))
  return keras.Model(inputs, logits, name="lstm_baseline")


def sequence_cross_entropy(labels, logits):
  """Per-example softmax cross entropy, summed over steps for [B, T, C] logits."""
  labels = ops.cast(ops.reshape(labels, [-1]), "int32")
  one_hot = ops.one_hot(labels, ops.shape(logits)[-1])
  if len(logits.shape) == 3:
    one_hot = ops.repeat(one_hot[:, None, :], ops.shape(logits)[1], axis=1)
    return ops.sum(ops.categorical_crossentropy(one_hot, logits, from_logits=True), axis=1)
  return ops.categorical_crossentropy(one_hot, logits, from_logits=True)


def final_logits(logits: np.ndarray) -> np.ndarray:
  """[B, C] logits: the last step of per-step logits."""
  logits = np.asarray(logits)
  return logits[:, -1, :] if logits.ndim == 3 else logits


def softmax(logits: np.ndarray) -> np.ndarray:
  z = final_logits(logits).astype(np.float64)
  z = np.exp(z - z.max(axis=1, keepdims=True))
  return z / z.sum(axis=1, keepdims=True)


def train(model: keras.Model, train_inputs: dict, train_labels: np.ndarray, val_inputs: dict,
          val_labels: np.ndarray, epochs: int = 100, patience: int = 20, lr: float = 1e-3,
          batch_size: int = 32, project_path: str | None = None, verbose: int = 0) -> dict:
  """Adam(lr) on sequence_cross_entropy; early stopping on the validation loss with the best
  weights restored (the original kept and reloaded its best checkpoint). TensorBoard logs and
  the best weights (`classifier.weights.h5`) go to project_path when given. Returns the history.
  """
  model.compile(optimizer=keras.optimizers.Adam(lr), loss=sequence_cross_entropy)
  callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                             restore_best_weights=True)]
  if project_path:
    callbacks.append(keras.callbacks.TensorBoard(os.path.join(project_path, "logs")))
  history = model.fit(train_inputs, train_labels, validation_data=(val_inputs, val_labels),
                      epochs=epochs, batch_size=batch_size, callbacks=callbacks, verbose=verbose,
                      shuffle=True)
  if project_path:
    # Keras wants the name to end in .weights.h5, so the temporary name keeps that suffix.
    with atomic_io.atomic_path(os.path.join(project_path, "classifier.weights.h5")) as tmp:
      model.save_weights(tmp)
  return history.history
