"""Kepler (and TESS) light curves as AstroWaveNet inputs: whole light curves on a uniform cadence grid.

A light curve becomes one tf.train.Example (the original's
beam/astrowavenet layout): `kepler_id`, `time`, `flux` (each file's PDCSAP
flux / its median - 1, optionally clipped and scaled), `cadence_no` and
`mask` (1 where a cadence has data). The input pipeline turns each into
{"autoregressive_input": flux [T, 1], "conditioning_stack": mask [T, 1],
"weights": mask [T, 1], "example_id"}, cut to `max_length` steps, shuffled
and zero-padded into batches (padding has weight 0, so it adds no loss).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from astronet.data import preprocess
from light_curve_util import fits_io
from light_curve_util import util
from tf_util import errors

# 1.4826 * MAD estimates the standard deviation of Gaussian noise.
MAD_TO_STDDEV = 1.4826


def process_light_curve(filenames: Sequence[str], flux_column: str = "PDCSAP_FLUX",
                        extension: str = "LIGHTCURVE", invert: bool = False,
                        upward_outlier_clipping: float | None = None,
                        downward_outlier_clipping: float | None = None,
                        clip_lowest_n_values: int | None = None,
                        normalize_stddev: bool = False):
  """(cadence_no, time, flux, mask) of one star on a gap-free cadence grid.

  Each file's flux is divided by its median and shifted to median 0 (after
  an optional reflection about the median); clipping is in multiples of
  1.4826 * MAD of the joined light curve.

  Raises:
    LightCurveFileError / MissingFieldError: Unreadable file or column.
    EmptyLightCurveError: No finite flux in any file.
  """
  cadences, times, fluxes = [], [], []
  for filename in filenames:
    table = fits_io.read_fits_columns(filename, extension, ["CADENCENO", "TIME", flux_column])
    cadence_no = table.columns["CADENCENO"]
    time = table.columns["TIME"]
    flux = table.columns[flux_column].astype(np.float64)
    finite = np.isfinite(flux)
    if not cadence_no.size or not finite.any():
      continue
    median = np.median(flux[finite])
    if invert:
      flux = 2 * median - flux
    flux = flux / median - 1
    cadences.append(cadence_no)
    times.append(time)
    fluxes.append(flux)
  if not fluxes:
    raise errors.EmptyLightCurveError(
        "No finite {} values in {}".format(flux_column, ", ".join(filenames)))
  cadence_no, time, flux = (np.concatenate(a) for a in (cadences, times, fluxes))
  return clip_and_grid(cadence_no, time, flux, ", ".join(filenames), upward_outlier_clipping,
                       downward_outlier_clipping, clip_lowest_n_values, normalize_stddev)


def process_tess_light_curve(tic: int, tess_data_dir: str, sector: int, **options):
  """(cadence_no, time, flux, mask) of a Triage h5 light curve (relative flux - 1).

  Cadence numbers count the median cadence (30 min for the Triage files) from
  the first point. Options as `process_light_curve` (clipping, scaling).
  """
  time, flux = preprocess.read_and_process_light_curve(tic, tess_data_dir, sector)
  if len(time) < 2:
    raise errors.EmptyLightCurveError("TIC {} sector {}: fewer than 2 points".format(
        tic, sector))
  cadence = np.median(np.diff(time))
  cadence_no = np.round((time - time[0]) / cadence).astype(np.int64)
  return clip_and_grid(cadence_no, time, flux - 1, "TIC {} sector {}".format(tic, sector),
                       **options)


def clip_and_grid(cadence_no, time, flux, name: str,
                  upward_outlier_clipping: float | None = None,
                  downward_outlier_clipping: float | None = None,
                  clip_lowest_n_values: int | None = None,
                  normalize_stddev: bool = False):
  """Drops non-finite points, clips/scales by 1.4826 * MAD, grids on cadence numbers."""
  keep = np.isfinite(flux) & np.isfinite(time)
  cadence_no, time, flux = cadence_no[keep], time[keep], flux[keep]
  if not flux.size:
    raise errors.EmptyLightCurveError("{}: no finite flux".format(name))
  stddev = MAD_TO_STDDEV * np.median(np.abs(flux))
  if upward_outlier_clipping:
    flux = np.minimum(flux, upward_outlier_clipping * stddev)
  if downward_outlier_clipping:
    flux = np.maximum(flux, -downward_outlier_clipping * stddev)
  if clip_lowest_n_values:
    flux = np.maximum(flux, np.partition(flux, clip_lowest_n_values)[clip_lowest_n_values])
  if normalize_stddev:
    if not stddev > 0:
      raise errors.DegenerateViewError("Flux of {} has zero MAD; cannot normalise".format(
          name))
    flux = flux / stddev
  return util.uniform_cadence_light_curve(cadence_no, time, flux)


def make_example(kepler_id: int, cadence_no, time, flux, mask, flux_column: str = "PDCSAP_FLUX",
                 id_feature: str = "kepler_id"):
  """The tf.train.Example of one processed light curve (id_feature: kepler_id / tic_id)."""
  import tensorflow as tf  # noqa: PLC0415  (TensorFlow, kept out of the import of this module)

  from tf_util import example_util  # noqa: PLC0415  (loads TensorFlow)
  example = tf.train.Example()
  example_util.set_int64_feature(example, id_feature, [int(kepler_id)])
  example_util.set_bytes_feature(example, "flux_column", [flux_column])
  example_util.set_float_feature(example, "time", np.asarray(time, np.float64))
  example_util.set_float_feature(example, "flux", np.asarray(flux, np.float64))
  example_util.set_int64_feature(example, "cadence_no", np.asarray(cadence_no, np.int64))
  example_util.set_int64_feature(example, "mask", np.asarray(mask, np.int64))
  return example


def parse_example(serialized):
  """Model features of one serialized Example (see module docstring)."""
  import tensorflow as tf  # noqa: PLC0415  (TensorFlow, kept out of the import of this module)
  features = tf.io.parse_single_example(serialized, {
      "time": tf.io.VarLenFeature(tf.float32),
      "flux": tf.io.VarLenFeature(tf.float32),
      "mask": tf.io.VarLenFeature(tf.int64),
      "kepler_id": tf.io.FixedLenFeature([], tf.int64, default_value=0),
      "tic_id": tf.io.FixedLenFeature([], tf.int64, default_value=0),
  })
  mask = tf.cast(features["mask"].values, tf.float32)[:, None]
  return {"time": features["time"].values[:, None],
          "autoregressive_input": features["flux"].values[:, None],
          "conditioning_stack": mask, "weights": mask,
          "example_id": tf.cast(features["kepler_id"] + features["tic_id"], tf.int64)}


def build_dataset(file_pattern: str, batch_size: int, training: bool, max_length: int = 1024,
                  shuffle_values_buffer: int = 1000, seed: int | None = None):
  """Batches of padded windows (first `max_length` steps of each light curve).

  Training shuffles and repeats forever; otherwise one pass in file order.

  Raises:
    LightCurveFileError: A pattern matches no file.
  """
  import tensorflow as tf  # noqa: PLC0415  (TensorFlow, kept out of the import of this module)

  from astronet.ops import dataset_ops  # noqa: PLC0415  (TensorFlow, kept out of the import of this module)
  filenames = dataset_ops.expand_file_pattern(file_pattern)
  dataset = tf.data.Dataset.from_tensor_slices(filenames)
  if training and len(filenames) > 1:
    dataset = dataset.shuffle(len(filenames), seed=seed)
  dataset = dataset.interleave(tf.data.TFRecordDataset, cycle_length=min(8, len(filenames)),
                               num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  if training:
    if shuffle_values_buffer > 0:
      dataset = dataset.shuffle(shuffle_values_buffer, seed=seed)
    dataset = dataset.repeat()
  dataset = dataset.map(parse_example, num_parallel_calls=tf.data.AUTOTUNE)
  if max_length:
    dataset = dataset.map(lambda f: {k: v if k == "example_id" else v[:max_length]
                                     for k, v in f.items()})
  dataset = dataset.padded_batch(batch_size, drop_remainder=training)
  return dataset.prefetch(tf.data.AUTOTUNE)


def validate_records(file_pattern: str) -> int:
  """Reads every record of `file_pattern` once; returns the number of light curves.

  Raises:
    LightCurveFileError: A pattern matches no file.
    RecordFormatError: A truncated / corrupt record (file and record index),
      records of another kind (e.g. Astronet TCE records, which hold views,
      not `flux` / `mask`), time / flux / mask of unequal lengths, or
      non-finite flux.
  """
  import tensorflow as tf  # noqa: PLC0415  (TensorFlow, kept out of the import of this module)

  from astronet.ops import dataset_ops  # noqa: PLC0415  (TensorFlow, kept out of the import of this module)
  total = 0
  for filename in dataset_ops.expand_file_pattern(file_pattern):
    index = 0
    try:
      for record in tf.data.TFRecordDataset(filename):
        example = tf.train.Example.FromString(record.numpy())
        feature = example.features.feature
        if "flux" not in feature or "mask" not in feature:
          hint = (" (Astronet TCE records; AstroWaveNet reads the records of "
                  "astrowavenet/data/prepare_inputs.py)" if "global_view" in feature else "")
          raise errors.RecordFormatError(
              "{}: record {} is not an AstroWaveNet light curve: it has no flux / mask "
              "features (features: {}){}".format(filename, index, sorted(feature)[:8], hint))
        flux = np.asarray(feature["flux"].float_list.value)
        if len(flux) != len(feature["mask"].int64_list.value):
          raise errors.RecordFormatError("{}: record {}: flux and mask differ in length".format(
              filename, index))
        if not np.isfinite(flux).all():
          raise errors.RecordFormatError("{}: record {}: flux holds NaN or inf".format(
              filename, index))
        index += 1
    except tf.errors.OpError as e:
      raise errors.RecordFormatError("{}: record {} is truncated or corrupt: {}".format(
          filename, index, e.message.strip().splitlines()[0])) from None
    total += index
  return total
