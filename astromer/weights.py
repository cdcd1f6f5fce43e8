"""Loading the original ASTROMER weights (TF2 object-based checkpoints) into `build_astromer` models.

Checkpoint keys of the released models (`model.save_weights` of astromer 0.1.8):
  layer_with_weights-0/inp_transform/{kernel,bias}
  layer_with_weights-0/enc_layers/{i}/mha/{wq,wk,wv,dense}/{kernel,bias}
  layer_with_weights-0/enc_layers/{i}/ffn/layer_with_weights-{0,1}/{kernel,bias}
  layer_with_weights-0/enc_layers/{i}/layernorm{1,2}/{gamma,beta}
  layer_with_weights-1/bn_0/{gamma,beta}, layer_with_weights-1/reg_layer/{kernel,bias}
Every variable must be consumed and every shape must match (one error listing
all problems otherwise).
"""

from __future__ import annotations

import json
import os
import re

import numpy as np

from tf_util import errors

_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"


def model_variables(model) -> dict:
  """{checkpoint key (without the suffix): Keras variable} of a build_astromer model."""
  names = {}
  for layer in model.layers:
    if layer.name == "inp_transform":
      names["layer_with_weights-0/inp_transform/kernel"] = layer.kernel
      names["layer_with_weights-0/inp_transform/bias"] = layer.bias
    elif layer.name in ("bn_0", "reg_layer"):
      for weight in layer.weights:
        names["layer_with_weights-1/{}/{}".format(layer.name, weight.path.split("/")[-1])] = weight
    else:
      m = re.fullmatch(r"enc_layers_(\d+)", layer.name)
      if not m:
        continue
      prefix = "layer_with_weights-0/enc_layers/{}/".format(m.group(1))
      parts = {"mha/wq": layer.wq, "mha/wk": layer.wk, "mha/wv": layer.wv, "mha/dense": layer.dense,
               "ffn/layer_with_weights-0": layer.ffn_1, "ffn/layer_with_weights-1": layer.ffn_2,
               "layernorm1": layer.layernorm1, "layernorm2": layer.layernorm2}
      for part, sub in parts.items():
        for weight in sub.weights:
          names[prefix + part + "/" + weight.path.split("/")[-1]] = weight
  return names


def read_checkpoint(path: str) -> dict:
  """{key: array} of a TF checkpoint prefix or folder (folder/weights, as the original)."""
  import tensorflow as tf  # noqa: PLC0415  (TensorFlow, kept out of the import of this module)
  prefix = os.path.join(path, "weights") if os.path.isdir(path) else path
  if not os.path.exists(prefix + ".index"):
    raise errors.CheckpointError("No ASTROMER checkpoint {}.index (a weights folder holds "
                                 "'weights.index' and 'weights.data-*')".format(prefix))
  try:
    reader = tf.train.load_checkpoint(prefix)
    return {k[:-len(_SUFFIX)]: reader.get_tensor(k)
            for k in reader.get_variable_to_shape_map() if k.endswith(_SUFFIX)}
  except (tf.errors.OpError, ValueError, IndexError) as e:
    raise errors.CheckpointError("Cannot read checkpoint {}: {}".format(
        prefix, str(e).splitlines()[0])) from None


def assign(model, values: dict, source: str) -> None:
  """Copies checkpoint values into the model; one CheckpointError listing every mismatch."""
  targets = model_variables(model)
  missing = sorted(set(targets) - set(values))
  unused = sorted(set(values) - set(targets))
  misshaped = sorted("{} (checkpoint {}, model {})".format(k, list(np.shape(values[k])),
                                                          list(targets[k].shape))
                     for k in set(targets) & set(values)
                     if tuple(np.shape(values[k])) != tuple(targets[k].shape))
  if missing or unused or misshaped:
    raise errors.CheckpointError("{} does not fit the model: {}".format(source, "; ".join(
        part for part in (
            "missing: " + ", ".join(missing) if missing else "",
            "not in the model: " + ", ".join(unused) if unused else "",
            "wrong shape: " + ", ".join(misshaped) if misshaped else "") if part)))
  for key, variable in targets.items():
    variable.assign(np.asarray(values[key], np.float32))


def read_conf(folder: str) -> dict:
  """The conf.json of a weights folder, as build_astromer keyword arguments."""
  path = os.path.join(folder, "conf.json")
  if not os.path.exists(path):
    raise errors.CheckpointError("No conf.json in {}".format(folder))
  with open(path) as f:
    conf = json.load(f)
  return {"num_layers": int(conf["layers"]), "d_model": int(conf["head_dim"]),
          "num_heads": int(conf["heads"]), "dff": int(conf["dff"]),
          "dropout": float(conf.get("dropout", 0.1)), "maxlen": int(conf["max_obs"]),
          "use_residuals": bool(conf.get("use_leak", False))}


def read_keras2_h5(path: str, num_layers: int) -> dict:
  """{checkpoint key: array} of a Keras 2 `weights.h5` of the original (e.g. the atlas weights).

  Keras 2 named the layers by creation order: encoder_layer{_i} /
  multi_head_attention{_i}/{WQ,WK,WV,MixerDense}, layer_normalization_{2i, 2i+1}
  (the last one is the regression LayerNorm), dense_{2i+1, 2i+2} (FFN of layer i),
  encoder/dense (input transform), RegLayer.

  Raises:
    CheckpointError: Unreadable file or a variable with no place in the model.
  """
  import h5py  # noqa: PLC0415  (h5py: only this function needs it)
  values, unknown = {}, []
  try:
    h5 = h5py.File(path, "r")
  except OSError as e:
    raise errors.CheckpointError("Cannot read {}: {}".format(path, e)) from None
  def suffix(name):
    m = re.search(r"_(\d+)$", name)
    return int(m.group(1)) if m else 0
  with h5:
    datasets = []
    h5.visititems(lambda name, obj: datasets.append(name) if isinstance(obj, h5py.Dataset) else None)
    for name in datasets:
      parts = name.replace(":0", "").split("/")
      weight, layer = parts[-1], parts[-2]
      key = None
      if layer in ("WQ", "WK", "WV", "MixerDense"):
        mha = "dense" if layer == "MixerDense" else layer.lower()
        key = "layer_with_weights-0/enc_layers/{}/mha/{}/{}".format(suffix(parts[-3]), mha, weight)
      elif layer.startswith("layer_normalization"):
        k = suffix(layer)
        key = ("layer_with_weights-1/bn_0/{}".format(weight) if k == 2 * num_layers else
               "layer_with_weights-0/enc_layers/{}/layernorm{}/{}".format(k // 2, k % 2 + 1, weight))
      elif layer == "RegLayer":
        key = "layer_with_weights-1/reg_layer/{}".format(weight)
      elif layer == "dense" and len(parts) >= 3 and parts[-3] == "encoder":
        key = "layer_with_weights-0/inp_transform/{}".format(weight)
      elif re.fullmatch(r"dense_\d+", layer):
        k = suffix(layer)
        key = "layer_with_weights-0/enc_layers/{}/ffn/layer_with_weights-{}/{}".format(
            (k - 1) // 2, (k - 1) % 2, weight)
      if key is None:
        unknown.append(name)
      else:
        values[key] = h5[name][()]
  if unknown:
    raise errors.CheckpointError("{}: variables with no place in ASTROMER: {}".format(
        path, unknown))
  return values


def read_weights(folder: str, num_layers: int) -> dict:
  """The weights of a folder: `weights` (TF checkpoint) or `weights.h5` (Keras 2)."""
  if os.path.exists(os.path.join(folder, "weights.index")):
    return read_checkpoint(folder)
  if os.path.exists(os.path.join(folder, "weights.h5")):
    return read_keras2_h5(os.path.join(folder, "weights.h5"), num_layers)
  raise errors.CheckpointError("{} holds neither weights.index nor weights.h5".format(folder))


def save_checkpoint(model, prefix: str) -> str:
  """Writes the model's weights as a TF checkpoint with the ORIGINAL's keys
  (`layer_with_weights-0/enc_layers/0/mha/wq/kernel`, ...), so the original
  library and `read_checkpoint` both load it. Returns the prefix."""
  import tensorflow as tf  # noqa: PLC0415  (TensorFlow, kept out of the import of this module)
  root = tf.train.Checkpoint()
  for key, variable in model_variables(model).items():
    node = root
    *path, leaf = key.split("/")
    for part in path:
      child = getattr(node, part, None)
      if child is None:
        child = tf.Module()  # a plain trackable node
        setattr(node, part, child)
      node = child
    setattr(node, leaf, tf.Variable(np.asarray(variable), name=leaf))
  root.write(prefix)
  return prefix
