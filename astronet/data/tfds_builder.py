r"""TensorFlow Datasets builder over local Astronet record shards (Kepler or Triage).

The records (written by the original code or by generate_input_records.py) sit
in one folder as `train-*`, `val-*` and `test-*` shards. TFDS reads them from
its manual directory:

  import tensorflow_datasets as tfds
  from astronet.data import tfds_builder  # registers "astronet_records"

  builder = tfds.builder("astronet_records/tess", data_dir="~/tfds")
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir="astronet/tfrecords"))
  train = builder.as_dataset(split="train", as_supervised=True)  # (views, label_id)

or in one call: `tfds_builder.load("astronet/tfrecords", "tess", data_dir="~/tfds")`.
Each example has `global_view` and `local_view` (float32, 2001/201 values for
Kepler, 201/61 for TESS), the catalog label string (`av_training_set` /
`Disposition`) and its class id under the original label map, the star id and
the TCE's period, epoch and duration (catalog units). Nothing is downloaded.
"""

from __future__ import annotations

import glob
import os

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from astronet import missions
from astronet.astro_model import configurations as model_configurations
from tf_util import errors

SPLITS = ("train", "val", "test")


class AstronetRecordsConfig(tfds.core.BuilderConfig):
  """One mission's records."""

  def __init__(self, *, mission: str, **kwargs):
    super().__init__(name=mission, **kwargs)
    self.mission = mission


class AstronetRecords(tfds.core.GeneratorBasedBuilder):
  """Astronet (Kepler) and Astronet-Triage (TESS) TCE views from local shards."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Views, label, star id and TCE parameters."}
  BUILDER_CONFIGS = [
      AstronetRecordsConfig(mission="kepler", description="Kepler DR24 TCEs (exoplanet-ml)."),
      AstronetRecordsConfig(mission="tess", description="TESS TCEs (Astronet-Triage)."),
  ]
  MANUAL_DOWNLOAD_INSTRUCTIONS = (
      "Put the TFRecord shards (train-*, val-*, test-*), written by the original code or by "
      "astronet/data/generate_input_records.py, in the manual directory.")

  @property
  def _mission(self) -> missions.Mission:
    return missions.get_mission(self.builder_config.mission)

  def _info(self) -> tfds.core.DatasetInfo:
    global_length, local_length = model_configurations.VIEW_LENGTHS[self.builder_config.mission]
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "global_view": tfds.features.Tensor(shape=(global_length,), dtype=np.float32),
            "local_view": tfds.features.Tensor(shape=(local_length,), dtype=np.float32),
            "label": tfds.features.Text(),
            "label_id": np.int64,
            "star_id": np.int64,
            "period": np.float32,
            "t0": np.float32,
            "duration": np.float32,
        }),
        homepage="https://github.com/google-research/exoplanet-ml",
    )

  def _split_generators(self, dl_manager):
    found = {split: sorted(glob.glob(os.path.join(dl_manager.manual_dir, split + "-*")))
             for split in SPLITS}
    found = {split: files for split, files in found.items() if files}
    if not found:
      raise errors.LightCurveFileError(
          "No train-*, val-* or test-* record shards in {}".format(dl_manager.manual_dir),
          str(dl_manager.manual_dir))
    return {split: self._generate_examples(files) for split, files in found.items()}

  def _generate_examples(self, files):
    mission = self._mission
    label_map = mission.training_label_map
    for filename in files:
      for index, record in enumerate(tf.data.TFRecordDataset(filename)):
        example = tf.train.Example.FromString(record.numpy())
        yield "{}:{}".format(os.path.basename(filename), index), _to_tfds_example(
            example, mission, label_map, filename, index)


def _to_tfds_example(example, mission: missions.Mission, label_map, filename: str,
                     index: int) -> dict:
  features = example.features.feature

  def values(name, kind):
    if name not in features:
      raise errors.RecordFormatError("{} record {} has no feature {!r}".format(
          filename, index, name))
    return getattr(features[name], kind).value

  label = values(mission.label_column, "bytes_list")[0].decode("latin-1")
  if label not in label_map:
    raise errors.RecordFormatError("{} record {}: label {!r} not in the label map {}".format(
        filename, index, label, sorted(label_map)))
  return {
      "global_view": np.asarray(values("global_view", "float_list"), np.float32),
      "local_view": np.asarray(values("local_view", "float_list"), np.float32),
      "label": label,
      "label_id": int(label_map[label]),
      "star_id": int(values(mission.id_column, "int64_list")[0]),
      "period": float(values(mission.period_column, "float_list")[0]),
      "t0": float(values(mission.t0_column, "float_list")[0]),
      "duration": float(values(mission.duration_column, "float_list")[0]),
  }


def load(shards_dir: str, mission: str, data_dir: str | None = None, split=None,
         as_supervised: bool = False):
  """Prepares (once) and loads the records of `shards_dir` the TFDS way.

  Args:
    shards_dir: Folder of train-* / val-* / test-* shards.
    mission: "kepler" or "tess".
    data_dir: Where TFDS keeps the prepared dataset (TFDS default if None).
    split: "train", "val", "test", a TFDS split expression, or None for all.
    as_supervised: ({"global_view", "local_view"}, label_id) pairs.

  Returns:
    A tf.data.Dataset, or a dict of them by split when split is None.
  """
  builder = AstronetRecords(config=mission, data_dir=data_dir)
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=shards_dir))
  dataset = builder.as_dataset(split=split)
  if not as_supervised:
    return dataset

  def supervised(example):
    return ({"global_view": example["global_view"], "local_view": example["local_view"]},
            example["label_id"])

  if isinstance(dataset, dict):
    return {name: ds.map(supervised) for name, ds in dataset.items()}
  return dataset.map(supervised)
