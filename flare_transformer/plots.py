"""Figures of a flare-transformer run: training history and attention maps."""

from __future__ import annotations

import os

import numpy as np

from tf_util import atomic_io


def _pyplot():
  import matplotlib  # noqa: PLC0415  (plotting only)
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # noqa: PLC0415  (plotting only)
  return plt


def _save(fig, path: str) -> None:
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with atomic_io.atomic_path(path) as tmp:
    fig.savefig(tmp, dpi=90)
  _pyplot().close(fig)


def _integer_locator():
  from matplotlib.ticker import MaxNLocator  # noqa: PLC0415  (plotting only)
  return MaxNLocator(integer=True)


CADENCE_MINUTES = 2.0


def training_history(history: list[dict], path: str) -> None:
  """Loss, accuracy, validation precision / recall and validation F1 per epoch."""
  plt = _pyplot()
  epochs = [h["epoch"] for h in history]
  fig, axes = plt.subplots(2, 2, figsize=(10, 7))
  panels = ((axes[0, 0], "loss", ("loss", "val_loss")),
            (axes[0, 1], "accuracy", ("accuracy", "val_accuracy")),
            (axes[1, 0], "validation precision / recall", ("val_precision", "val_recall")),
            (axes[1, 1], "validation F1", ("val_f1",)))
  scores = [h.get("val_f1") for h in history]
  best = epochs[int(np.nanargmax(np.asarray(scores, np.float64)))] if any(
      s is not None for s in scores) else None
  for ax, title, keys in panels:
    for key in keys:
      ax.plot(epochs, [h.get(key) for h in history], marker="o", ms=3, label=key)
    if best is not None:
      ax.axvline(best, color="grey", ls=":", lw=1, label="best val F1 (epoch {})".format(best))
    ax.set_title(title)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(_integer_locator())
    ax.legend()
  fig.tight_layout()
  _save(fig, path)


def attention_rollout(attention: list[np.ndarray]) -> np.ndarray:
  """Abnar & Zuidema rollout of per-layer [heads, T, T] weights: head-mean, plus identity
  for the residual, row-normalised, multiplied through the layers -> [T, T]."""
  rollout = None
  for weights in attention:
    a = weights.mean(axis=0)
    a = a + np.eye(a.shape[0])
    a = a / a.sum(axis=-1, keepdims=True)
    rollout = a if rollout is None else a @ rollout
  return rollout


def attention_maps(model, split: dict, out_dir: str, num_samples: int = 4,
                   seed: int = 0) -> list[str]:
  """For flare and non-flare windows of `split`: sample_<i>_lightcurve.png,
  sample_<i>_layer_<j>_attention.png (one panel per head) and
  sample_<i>_attention_rollout.png. Returns the written paths."""
  from flare_transformer import model as model_lib  # noqa: PLC0415  (Keras: only the attention maps need the model)
  plt = _pyplot()
  rng = np.random.default_rng(seed)
  positives = np.nonzero(split["y"] == 1)[0]
  negatives = np.nonzero(split["y"] == 0)[0]
  half = num_samples // 2
  chosen = np.concatenate([rng.permutation(positives)[:half],
                           rng.permutation(negatives)[:num_samples - min(half, len(positives))]])
  if not chosen.size:
    return []
  outputs = model_lib.attention_model(model)(split["x"][chosen], training=False)
  layers = sorted(k for k in outputs if k.startswith("attention_"))
  written = []
  for i, row in enumerate(chosen):
    flux = split["x"][row, :, 0]
    # The window's time axis: minutes from its first cadence (BTJD t_start).
    minutes = np.arange(len(flux)) * CADENCE_MINUTES
    time_label = "minutes from BTJD {:.4f}".format(float(split["t_start"][row]))
    extent = (minutes[0] - 1, minutes[-1] + 1, minutes[-1] + 1, minutes[0] - 1)
    probability = float(np.asarray(outputs["probability"])[i, 0])
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.plot(minutes, flux, "k.-", ms=3)
    flagged = np.nonzero(split["x"][row, :, 2] > 0)[0]
    ax.plot(minutes[flagged], flux[flagged], "rx", label="QUALITY != 0")
    ax.set_xlabel(time_label)
    ax.set_ylabel("normalised flux (sigma)")
    ax.set_title("TIC {} start {}: label {}{}, p(flare) = {:.3f}".format(
        int(split["tic"][row]), int(split["start"][row]), int(split["y"][row]),
        " (injected)" if split["synthetic"][row] else "", probability))
    path = os.path.join(out_dir, "sample_{}_lightcurve.png".format(i))
    _save(fig, path)
    written.append(path)
    per_layer = []
    for j, key in enumerate(layers):
      weights = np.asarray(outputs[key])[i]
      per_layer.append(weights)
      heads = weights.shape[0]
      cols = min(4, heads)
      rows = int(np.ceil(heads / cols))
      fig, axes = plt.subplots(rows, cols, figsize=(3 * cols + 1, 3 * rows), squeeze=False,
                               constrained_layout=True)
      top = float(weights.max())
      for h in range(rows * cols):
        ax = axes[h // cols, h % cols]
        if h < heads:
          image = ax.imshow(weights[h], cmap="viridis", aspect="auto", extent=extent,
                            vmin=0, vmax=top)
          ax.set_title("head {}".format(h), fontsize=9)
          ax.set_xlabel("key time (min)", fontsize=8)
          ax.set_ylabel("query time (min)", fontsize=8)
        else:
          ax.axis("off")
      fig.colorbar(image, ax=axes, label="attention weight", shrink=0.8)
      fig.suptitle("sample {} layer {} attention ({})".format(i, j, time_label))
      path = os.path.join(out_dir, "sample_{}_layer_{}_attention.png".format(i, j))
      _save(fig, path)
      written.append(path)
    rollout = attention_rollout(per_layer)
    fig, axes = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    axes[0].plot(minutes, flux, "k.-", ms=3)
    axes[0].set_ylabel("normalised flux")
    axes[1].plot(minutes, rollout.mean(axis=0), "b-")
    axes[1].set_ylabel("rollout attention received")
    axes[1].set_xlabel(time_label)
    axes[0].set_title("sample {}: attention rollout over {} layers".format(i, len(layers)))
    path = os.path.join(out_dir, "sample_{}_attention_rollout.png".format(i))
    _save(fig, path)
    written.append(path)
  return written
