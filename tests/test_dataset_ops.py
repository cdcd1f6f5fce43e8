"""astronet.ops.dataset_ops on records written by the original code."""

import numpy as np
import pytest
import tensorflow as tf

from astronet.ops import dataset_ops
from tf_util import errors
from tf_util import example_util

KEPLER_FEATURES = {"global_view": 2001, "local_view": 201}
TESS_FEATURES = {"global_view": 201, "local_view": 61}


@pytest.fixture(scope="module")
def kepler_records(test_data):
  return str(test_data / "kepler" / "records" / "kepler90_golden-00000-of-00001.tfrecord")


def test_reads_original_kepler_records(kepler_records, golden_kepler90i):
  ds = dataset_ops.build_dataset(kepler_records, KEPLER_FEATURES, batch_size=4,
                                 label_feature="av_training_set",
                                 label_map=dataset_ops.KEPLER_LABEL_MAP)
  (features, labels), = list(ds)
  assert features["global_view"].shape == (4, 2001) and features["local_view"].shape == (4, 201)
  assert labels.numpy().tolist() == [1, 0, 1, 0]  # PC, AFP, PC, AFP
  np.testing.assert_array_equal(features["global_view"][0].numpy(),
                                golden_kepler90i["global_view"].astype(np.float32))


def test_reversal_augmentation(kepler_records):
  plain, = list(dataset_ops.build_dataset(kepler_records, KEPLER_FEATURES, 4,
                                          include_labels=False))
  rev, = list(dataset_ops.build_dataset(kepler_records, KEPLER_FEATURES, 4,
                                        include_labels=False, reverse_time_series_prob=1.0))
  for name in KEPLER_FEATURES:
    np.testing.assert_array_equal(rev[name].numpy(), plain[name].numpy()[:, ::-1])
  # p = 0.5 with a seed reverses global and local views together, reproducibly.
  a, = list(dataset_ops.build_dataset(kepler_records, KEPLER_FEATURES, 4, include_labels=False,
                                      reverse_time_series_prob=0.5, seed=3))
  b, = list(dataset_ops.build_dataset(kepler_records, KEPLER_FEATURES, 4, include_labels=False,
                                      reverse_time_series_prob=0.5, seed=3))
  np.testing.assert_array_equal(a["global_view"], b["global_view"])
  for i in range(4):
    g_rev = np.array_equal(a["global_view"][i], plain["global_view"][i].numpy()[::-1])
    l_rev = np.array_equal(a["local_view"][i], plain["local_view"][i].numpy()[::-1])
    assert g_rev == l_rev


def test_reads_real_triage_shards(shared_fixtures):
  pattern = str(shared_fixtures / "triage" / "tfrecords" / "val-*")
  ds = dataset_ops.build_dataset(pattern, TESS_FEATURES, batch_size=256,
                                 label_feature="Disposition",
                                 label_map=dataset_ops.TESS_LABEL_MAP)
  labels = np.concatenate([l.numpy() for _, l in ds])
  assert len(labels) == 1657 and labels.sum() == 227  # record_schema.json


def test_wrong_view_length_is_a_clear_error(kepler_records):
  with pytest.raises(errors.RecordFormatError,
                     match="'global_view' has length 2001, the config expects 201"):
    dataset_ops.build_dataset(kepler_records, TESS_FEATURES, 4, include_labels=False)


def test_no_matching_files(tmp_path):
  with pytest.raises(errors.LightCurveFileError, match="Found no input files matching"):
    dataset_ops.build_dataset(str(tmp_path / "train-*"), TESS_FEATURES, 4, include_labels=False)


def test_unknown_label_and_bad_label_map(tmp_path, kepler_records):
  with pytest.raises(ValueError, match="contiguous integers"):
    dataset_ops.build_dataset(kepler_records, KEPLER_FEATURES, 4,
                              label_feature="av_training_set", label_map={"PC": 1, "AFP": 2})
  ds = dataset_ops.build_dataset(kepler_records, KEPLER_FEATURES, 4,
                                 label_feature="av_training_set", label_map={"PC": 1, "NTP": 0})
  with pytest.raises(tf.errors.InvalidArgumentError, match="Unknown label string"):
    list(ds)


def test_example_util_round_trip():
  ex = tf.train.Example()
  example_util.set_feature(ex, "global_view", np.arange(3.0))
  example_util.set_feature(ex, "tic_id", [12345])
  example_util.set_feature(ex, "Disposition", ["PC"])
  ex = tf.train.Example.FromString(ex.SerializeToString())
  np.testing.assert_array_equal(example_util.get_float_feature(ex, "global_view"), [0, 1, 2])
  assert example_util.get_int64_feature(ex, "tic_id").tolist() == [12345]
  assert example_util.get_bytes_feature(ex, "Disposition").tolist() == [b"PC"]
  with pytest.raises(ValueError, match="overwrite"):
    example_util.set_feature(ex, "tic_id", [1])
  with pytest.raises(errors.MissingFeatureError, match="no feature 'kepid'"):
    example_util.get_feature(ex, "kepid")
  with pytest.raises(KeyError):
    example_util.get_feature(ex, "kepid")
  assert example_util.get_feature(ex, "kepid", strict=False).tolist() == []
  with pytest.raises(TypeError, match="is a int64_list, not a float_list"):
    example_util.get_float_feature(ex, "tic_id")
