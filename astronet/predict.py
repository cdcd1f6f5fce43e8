r"""Predicts the planet probability of one TCE straight from its light curve.

  # Kepler-90 i (exoplanet-ml README): period, t0 in days (BKJD), duration in days.
  python astronet/predict.py --model=AstroCNNModel --config_name=local_global \
    --model_dir=model/ --kepler_data_dir=kepler/ --kepler_id=11442793 \
    --period=14.44912 --t0=2.2 --duration=0.11267 --output_image_file=kepler90i.png

  # TESS (Triage): --tess_data_dir, --tic_id and --sector instead.

Prints "Prediction: p" and optionally saves a figure of the global and local
views.
"""

from __future__ import annotations

import numpy as np
from absl import app
from absl import flags
from absl import logging

from astronet.astro_model import configurations as base_configurations
from astronet.data import preprocess
from astronet.data import tce_views
from astronet.ops import training
from tf_util import errors

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defines the command-line flags (only when run as a script)."""
  flags.DEFINE_string("model", None, "Name of the model class (checked against model_dir).")
  flags.DEFINE_string("config_name", None, "Config name (model_dir has the config).")
  flags.DEFINE_string("model_dir", None, "Directory with the trained model.")
  flags.DEFINE_string("kepler_data_dir", None, "Base folder of Kepler FITS files.")
  flags.DEFINE_integer("kepler_id", None, "Kepler ID of the target star.")
  flags.DEFINE_string("tess_data_dir", None, "Base folder of Triage h5 files.")
  flags.DEFINE_integer("tic_id", None, "TIC ID of the target star.")
  flags.DEFINE_integer("sector", 1, "TESS sector of the light curve.")
  flags.DEFINE_float("period", None, "Period of the TCE (days).")
  flags.DEFINE_float("t0", None, "Epoch of the TCE (days, BKJD or BTJD).")
  flags.DEFINE_float("duration", None, "Duration of the TCE (days).")
  flags.DEFINE_string("output_image_file", None, "Optional path of a figure of the views.")


def tce_row(mission: str, star_id: int, period: float, t0: float, duration: float,
            sector: int | None = None) -> dict:
  """A catalog-style row (the mission's column names) for one TCE (duration in days)."""
  columns = preprocess.get_mission(mission)
  row = {columns.id_column: star_id, columns.period_column: period,
         columns.t0_column: t0, columns.duration_column: duration}
  if columns.sector_column is not None:
    row[columns.sector_column] = sector
  return row


def predict_views(model, views: dict) -> float:
  """Probability (sigmoid of the logit) for one TCE's views."""
  batch = {name: np.asarray(view, np.float32)[None, :] for name, view in views.items()
           if name in model.input}
  logit = float(np.asarray(model(batch, training=False)).reshape(-1)[0])
  return 1.0 / (1.0 + np.exp(-logit))


def main(argv):
  del argv
  if bool(FLAGS.kepler_data_dir) == bool(FLAGS.tess_data_dir):
    raise app.UsageError("Give exactly one of --kepler_data_dir and --tess_data_dir")
  mission = "kepler" if FLAGS.kepler_data_dir else "tess"
  star_id = FLAGS.kepler_id if mission == "kepler" else FLAGS.tic_id
  if star_id is None or None in (FLAGS.period, FLAGS.t0, FLAGS.duration) or not FLAGS.model_dir:
    raise app.UsageError("--model_dir, the star id, --period, --t0 and --duration are required")
  try:
    model, _, config = training.load_model(FLAGS.model_dir, FLAGS.model)
    lengths = training.feature_lengths(config)
    if lengths.get("global_view") != base_configurations.VIEW_LENGTHS[mission][0]:
      raise errors.CheckpointError("The model in {} takes {} views, not {} views".format(
          FLAGS.model_dir, lengths, mission))
    tce = tce_row(mission, star_id, FLAGS.period, FLAGS.t0, FLAGS.duration, FLAGS.sector)
    views = tce_views.process_tce_views(
        tce, tce_views.RecordConfig(mission, FLAGS.kepler_data_dir or FLAGS.tess_data_dir))
  except (errors.AstronetError, OSError, ValueError) as e:
    logging.error("%s", e)
    return 2
  probability = predict_views(model, views)
  print("Prediction:", probability)
  if FLAGS.output_image_file:
    from astronet import plotting  # pylint: disable=import-outside-toplevel
    plotting.plot_views(views["global_view"], views["local_view"],
                        "{} {}: p = {:.3f}".format("KIC" if mission == "kepler" else "TIC",
                                                   star_id, probability),
                        FLAGS.output_image_file)
  return 0


if __name__ == "__main__":
  define_flags()
  app.run(main)
