"""stella (Feinstein et al. 2020): the flare-finding CNN in Keras 3, and its released models.

Architecture (input: 200 cadences of normalised flux, one channel):
Conv1D 16×7 same ReLU → MaxPool 2 → Dropout 0.1 → Conv1D 64×3 same ReLU →
MaxPool 2 → Dropout 0.1 → Flatten (3200) → Dense 32 ReLU → Dropout 0.1 →
Dense 1 sigmoid (105,729 parameters), layer names as in stella's Keras 2
Sequential models (conv1d, max_pooling1d, dropout, conv1d_1, ..., dense_1).

stella's released models are legacy Keras 2 HDF5 files (Keras 3 cannot load
them); `load_stella_h5` rebuilds the architecture and copies the weights by
layer name. `load_stella_ensemble` reads the ten paper models straight from
stella's `final_models.zip` (or its extracted folder); nothing is downloaded.

stella's input: SAP flux of the cadences with QUALITY == 0, divided by its
median; a window is the 200 cadences [i - 100, i + 100) around cadence i
(`stella_light_curve`, `windows_at`). `predict_light_curve` slides it over a
whole light curve as stella's predict did (no value within 100 cadences of an
end or a gap).
"""

from __future__ import annotations

import glob
import io
import json
import os
import re
import zipfile
from collections.abc import Sequence

import numpy as np

from light_curve_util import tess_io
from tf_util import errors

WINDOW = 200
# Seeds of the ten models of the paper's ensemble.
PAPER_SEEDS = (4, 5, 18, 28, 29, 38, 50, 77, 78, 80)
_WEIGHTED_LAYERS = ("conv1d", "conv1d_1", "dense", "dense_1")


def build_stella_cnn(window: int = WINDOW, dropout: float = 0.1, channels: int = 1):
  """stella's CNN as a Keras 3 functional model: [batch, window, channels] -> probability
  [batch, 1] (stella: channels 1, normalised flux; the flare CNN baseline: 3 features)."""
  import keras  # noqa: PLC0415  (Keras loads TensorFlow, kept out of the import of this module)
  inputs = keras.Input((window, channels), name="flux")
  x = keras.layers.Conv1D(16, 7, padding="same", activation="relu", name="conv1d")(inputs)
  x = keras.layers.MaxPooling1D(2, name="max_pooling1d")(x)
  x = keras.layers.Dropout(dropout, name="dropout")(x)
  x = keras.layers.Conv1D(64, 3, padding="same", activation="relu", name="conv1d_1")(x)
  x = keras.layers.MaxPooling1D(2, name="max_pooling1d_1")(x)
  x = keras.layers.Dropout(dropout, name="dropout_1")(x)
  x = keras.layers.Flatten(name="flatten")(x)
  x = keras.layers.Dense(32, activation="relu", name="dense")(x)
  x = keras.layers.Dropout(dropout, name="dropout_2")(x)
  outputs = keras.layers.Dense(1, activation="sigmoid", name="dense_1", dtype="float32")(x)
  return keras.Model(inputs, outputs, name="stella")


def load_stella_h5(source, name: str | None = None):
  """A Keras 3 stella model with the weights of a legacy Keras 2 `.h5` file.

  Args:
    source: Path or binary file object of the .h5.
    name: For messages (default: the path).

  Raises:
    CheckpointError: Not a stella model file (architecture, layer or shape).
  """
  import h5py  # noqa: PLC0415  (h5py: only this function needs it)
  name = name or str(source)
  try:
    h5 = h5py.File(source, "r")
  except OSError as e:
    raise errors.CheckpointError("Cannot read HDF5 model {}: {}".format(name, e)) from None
  with h5:
    config = h5.attrs.get("model_config")
    window = WINDOW
    if config is not None:
      config = json.loads(config.decode() if isinstance(config, bytes) else config)
      layers = config.get("config", {})
      layers = layers.get("layers", layers) if isinstance(layers, dict) else layers
      shape = next((l["config"].get("batch_input_shape") for l in layers
                    if l["config"].get("batch_input_shape")), None)
      if shape and shape[1:] != [shape[1], 1]:
        raise errors.CheckpointError("{}: input shape {} is not [window, 1]".format(name, shape))
      window = shape[1] if shape else WINDOW
    model = build_stella_cnn(window)
    group = h5["model_weights"] if "model_weights" in h5 else h5
    for layer_name in _WEIGHTED_LAYERS:
      try:
        weights = group[layer_name][layer_name]
        values = [weights["kernel:0"][()], weights["bias:0"][()]]
      except KeyError:
        raise errors.CheckpointError("{} has no weights for layer {} (has {})".format(
            name, layer_name, sorted(group))) from None
      layer = model.get_layer(layer_name)
      expected = [tuple(w.shape) for w in layer.weights]
      if [v.shape for v in values] != expected:
        raise errors.CheckpointError("{}: layer {} weights {} do not fit stella's {}".format(
            name, layer_name, [v.shape for v in values], expected))
      layer.set_weights(values)
  return model


def load_stella_ensemble(path: str, seeds: Sequence[int] = PAPER_SEEDS) -> dict:
  """{seed: model} of stella's released models from final_models.zip or a folder of .h5 files.

  Raises:
    CheckpointError: A seed's file is missing or unreadable.
  """
  pattern = re.compile(r"ensemble_s(\d{4})_i\d+_b[\d.]+\.h5$")
  models = {}
  if zipfile.is_zipfile(path):
    with zipfile.ZipFile(path) as archive:
      # (macOS zips carry "__MACOSX/._name" resource forks with the same names.)
      members = {int(m.group(1)): n for n in archive.namelist()
                 for m in [pattern.search(n)]
                 if m and not os.path.basename(n).startswith("._")}
      for seed in seeds:
        if seed not in members:
          raise errors.CheckpointError("No model of seed {} in {} (has {})".format(
              seed, path, sorted(members)))
        models[seed] = load_stella_h5(io.BytesIO(archive.read(members[seed])),
                                      "{}:{}".format(path, members[seed]))
    return models
  files = {int(m.group(1)): f for f in glob.glob(os.path.join(path, "**", "*.h5"),
                                                  recursive=True)
           for m in [pattern.search(f)] if m}
  for seed in seeds:
    if seed not in files:
      raise errors.CheckpointError("No model of seed {} under {}".format(seed, path))
    models[seed] = load_stella_h5(files[seed])
  return models


def stella_light_curve(fits_path: str):
  """(time [days, BTJD], flux) as stella's training set used them: SAP flux,
  QUALITY == 0, finite, divided by the median."""
  time, flux, _ = tess_io.read_tess_fits_light_curve(fits_path, "spoc", flux_column="SAP_FLUX")
  flux = np.asarray(flux, np.float64)
  return np.asarray(time, np.float64), flux / np.median(flux)


def windows_at(flux: np.ndarray, centres: Sequence[int], window: int = WINDOW) -> np.ndarray:
  """float32 [n, window, 1]: cadences [c - window/2, c + window/2) for each centre c.

  Raises:
    ValueError: A window runs past an end of the light curve.
  """
  half = window // 2
  centres = np.asarray(centres, int)
  if centres.size and (centres.min() < half or centres.max() + half > len(flux)):
    raise ValueError("Windows of {} cadences around {} do not fit a light curve of {}".format(
        window, centres.tolist(), len(flux)))
  index = centres[:, None] + np.arange(-half, half)[None, :]
  return flux[index].astype(np.float32)[..., None]


def gap_mask(time: np.ndarray, window: int = WINDOW) -> np.ndarray:
  """True for cadences whose whole window lies inside one gap-free segment.

  A gap is a time step >= median + 1.5 standard deviations of the steps.
  """
  half = window // 2
  step = np.diff(time)
  breaks = np.nonzero(step >= np.median(step) + 1.5 * np.std(step))[0] + 1
  segment = np.zeros(len(time), int)
  segment[breaks] = 1
  segment = np.cumsum(segment)
  ok = np.zeros(len(time), bool)
  if len(time) >= window:
    index = np.arange(half, len(time) - half)
    ok[index] = segment[index - half] == segment[index + half - 1]
  return ok


def predict_light_curve(models, time: np.ndarray, flux: np.ndarray,
                        batch_size: int = 1024) -> np.ndarray:
  """Mean probability of the models for every cadence as a window centre (NaN where none)."""
  centres = np.nonzero(gap_mask(time))[0]
  probability = np.full(len(flux), np.nan)
  if centres.size:
    windows = windows_at(flux, centres)
    outputs = [m.predict(windows, batch_size=batch_size, verbose=0)[:, 0]
               for m in (models.values() if isinstance(models, dict) else models)]
    probability[centres] = np.mean(outputs, axis=0)
  return probability
