"""The TFDS builder over local record shards."""

import numpy as np
import pytest
import tensorflow as tf

from astronet.ops import dataset_ops
from tf_util import errors

tfds = pytest.importorskip("tensorflow_datasets")


def raw_records(path):
  return [tf.train.Example.FromString(r.numpy()) for r in tf.data.TFRecordDataset(str(path))]


def test_tfds_builder_gives_the_records(test_data, tmp_path):
  from astronet.data import tfds_builder
  shards = test_data / "triage" / "records"
  builder = tfds.builder("astronet_records/tess", data_dir=str(tmp_path / "tfds"))
  assert isinstance(builder, tfds_builder.AstronetRecords)
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=str(shards)))
  assert set(builder.info.splits) == {"train", "val"}
  for split in ("train", "val"):
    raw = raw_records(shards / "{}-slice-00000-of-00001".format(split))
    assert builder.info.splits[split].num_examples == len(raw)
    by_key = {(int(e.features.feature["tic_id"].int64_list.value[0]),
               round(e.features.feature["Period"].float_list.value[0], 6)): e for e in raw}
    examples = list(tfds.as_numpy(builder.as_dataset(split=split)))
    assert len(examples) == len(raw)
    for ex in examples:
      original = by_key[(int(ex["star_id"]), round(float(ex["period"]), 6))].features.feature
      np.testing.assert_array_equal(ex["global_view"],
                                    np.float32(original["global_view"].float_list.value))
      np.testing.assert_array_equal(ex["local_view"],
                                    np.float32(original["local_view"].float_list.value))
      label = original["Disposition"].bytes_list.value[0].decode()
      assert ex["label"].decode() == label
      assert ex["label_id"] == dataset_ops.TESS_LABEL_MAP[label]
  # The one-call helper, supervised: (views, label id) batches for a Keras model.
  train = tfds_builder.load(str(shards), "tess", data_dir=str(tmp_path / "tfds"),
                            split="train", as_supervised=True)
  views, label = next(iter(train.batch(8)))
  assert views["global_view"].shape == (8, 201) and views["local_view"].shape == (8, 61)
  assert label.dtype == tf.int64


def test_tfds_builder_without_shards_says_where(tmp_path):
  from astronet.data import tfds_builder
  with pytest.raises(errors.LightCurveFileError, match="No train-\\*, val-\\* or test-\\*"):
    tfds_builder.load(str(tmp_path), "kepler", data_dir=str(tmp_path / "tfds"))
