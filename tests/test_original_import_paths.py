"""The originals' import paths and their behaviour: tf_util.config_util / configdict /
example_util (exoplanet-ml), astronet.util.* (Astronet-Triage), ASTROMER.* (astromer 0.1.8).

The cases follow the originals' own unit tests for these modules (which also
pass when run against this package, see the closing note of the issue).
"""

import json

import numpy as np
import pytest
import tensorflow as tf

from astronet.util import config_util as triage_config_util
from astronet.util import configdict as triage_configdict
from astronet.util import example_util as triage_example_util
from tf_util import config_util
from tf_util import configdict
from tf_util import example_util


def test_unflatten_and_json(tmp_path):
  for module in (config_util, triage_config_util):
    assert module.unflatten({}) == {}
    assert module.unflatten({"a": 1, "b": 2}) == {"a": 1, "b": 2}
    assert module.unflatten({"a": 1, "b.c": 2, "b.d.e": 3, "b.d.f": 4}) == {
        "a": 1, "b": {"c": 2, "d": {"e": 3, "f": 4}}}
  assert config_util.parse_json('{"learning_rate": 1.0}') == {"learning_rate": 1.0}
  path = tmp_path / "c.json"
  path.write_text('{"batch_size": 8}')
  assert config_util.parse_json(str(path)) == {"batch_size": 8}
  with pytest.raises(ValueError, match="not a file"):
    config_util.parse_json("{not json")
  config_util.log_and_save_config({"a": 1}, str(tmp_path / "out"))
  assert json.loads((tmp_path / "out" / "config.json").read_text()) == {"a": 1}


@pytest.mark.parametrize("module", [configdict, triage_configdict])
def test_configdict(module):
  config = module.ConfigDict({"int": 1, "nested": {"int": 3}, "double": {"a": {"x": 2.0}},
                              "listed": [{"c": 5}]})
  assert config.int == config["int"] == 1
  assert config.nested.int == config["nested"]["int"] == 3
  assert config.double.a.x == 2.0 and config.listed[0].c == 5
  with pytest.raises(AttributeError):
    _ = config.nonexistent
  with pytest.raises(KeyError):
    _ = config["nonexistent"]
  config.double.a = {"y": 50.0}
  assert isinstance(config.double.a, module.ConfigDict) and "x" not in config.double.a
  config["new"] = {"int": 30}
  assert config.new.int == 30
  config.listed[0].d = 6
  assert config.listed[0].c == 5
  del config.int
  with pytest.raises(AttributeError):
    _ = config.int
  del config["nested"]
  with pytest.raises(KeyError):
    _ = config["nested"]
  with pytest.raises(AttributeError):
    del config.nonexistent


@pytest.mark.parametrize("module", [example_util, triage_example_util])
def test_get_feature_has_the_original_semantics(module):
  ex = tf.train.Example()
  ex.features.feature["a_bytes"].bytes_list.value.extend([b"a", b"b"])
  ex.features.feature["b_float"].float_list.value.extend([1.0, 2.0])
  ex.features.feature["c_int64"].int64_list.value.extend([11, 22])
  ex.features.feature["d_empty"].CopyFrom(tf.train.Feature())
  assert isinstance(module.get_feature(ex, "b_float"), np.ndarray)
  np.testing.assert_array_equal(module.get_bytes_feature(ex, "a_bytes").astype(str), ["a", "b"])
  np.testing.assert_array_almost_equal(module.get_float_feature(ex, "b_float"), [1.0, 2.0])
  np.testing.assert_array_equal(module.get_int64_feature(ex, "c_int64"), [11, 22])
  for name, wrong in (("a_bytes", "float_list"), ("b_float", "int64_list"),
                      ("c_int64", "bytes_list")):
    with pytest.raises(TypeError):
      module.get_feature(ex, name, wrong)
  for getter in (module.get_feature, module.get_bytes_feature, module.get_float_feature,
                 module.get_int64_feature):
    np.testing.assert_array_equal(getter(ex, "d_empty"), [])
    with pytest.raises(KeyError):
      getter(ex, "nonexistent")
    np.testing.assert_array_equal(getter(ex, "nonexistent", strict=False), [])


def test_astromer_original_modules():
  from ASTROMER import preprocessing
  from ASTROMER import utils
  from astromer import utils as astromer_utils
  assert utils.download_weights is astromer_utils.download_weights
  rng = np.random.default_rng(0)
  curves = [np.stack([np.sort(rng.uniform(0, 100, 60)), rng.normal(size=60),
                      np.full(60, 0.1)], axis=1) for _ in range(4)]
  batch = next(iter(preprocessing.make_pretraining(curves, batch_size=2, max_obs=20,
                                                   msk_frac=0.5, labels=[0, 1, 2, 1])))
  assert set(batch) >= {"input", "output", "times", "mask_in", "mask_out"}
  inputs, one_hot = next(iter(preprocessing.make_pretraining(
      curves, batch_size=2, max_obs=20, labels=[0, 1, 2, 1], n_classes=3)))
  assert set(inputs) == {"input", "times", "mask_in"} and one_hot.shape[-1] == 3
  np.testing.assert_array_equal(one_hot.numpy().sum(axis=1), 1)
