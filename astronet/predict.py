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

import os

from absl import app
from absl import flags

from astronet import missions
from astronet.util import script_flags
from tf_util import cli
from tf_util import errors

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defines the command-line flags (only when run as a script)."""
  flags.DEFINE_string("model", None, "Name of the model class (checked against model_dir).")
  flags.DEFINE_string("config_name", None, "Config name (model_dir has the config).")
  flags.DEFINE_string("model_dir", None, "The model: model_dir (train.py or original TF1), "
                      ".keras file, exported SavedModel, or comma-separated list.")
  flags.DEFINE_boolean("average", False, "Average the models in the subdirectories of "
                       "--model_dir (an ensemble).")
  script_flags.define_pretrained_flag()
  flags.DEFINE_string("kepler_data_dir", None, "Base folder of Kepler FITS files.")
  flags.DEFINE_integer("kepler_id", None, "Kepler ID of the target star.", lower_bound=1)
  flags.DEFINE_string("tess_data_dir", None, "Base folder of TESS light curves: Triage h5, "
                      "or SPOC / QLP FITS from MAST (flat or in MAST's layout).")
  flags.DEFINE_enum("tess_format", "auto", ["auto", "h5", "spoc", "qlp"],
                    "TESS light curves to read (auto: h5, else SPOC, else QLP, by file name).")
  flags.DEFINE_string("flux_column", None, "FITS flux column (default: the pipeline's).")
  flags.DEFINE_multi_string("tess_fits", None, "TESS SPOC / QLP FITS light curve(s) of the "
                            "TCE (repeat for several sectors, stitched with per-sector "
                            "normalisation) instead of --tess_data_dir, --tic_id, --sector.")
  flags.DEFINE_integer("tic_id", None, "TIC ID of the target star.", lower_bound=1)
  flags.DEFINE_integer("sector", 1, "TESS sector of the light curve.", lower_bound=1)
  flags.DEFINE_float("period", None, "Period of the TCE (days).", lower_bound=0)
  flags.DEFINE_float("t0", None, "Epoch of the TCE (days, BKJD or BTJD).")
  flags.DEFINE_float("duration", None, "Duration of the TCE (days).", lower_bound=0)
  flags.DEFINE_string("output_image_file", None, "Optional path of a figure of the views.")
  flags.DEFINE_string("report", None, "Optional one-page vetting report (.png or .pdf): light "
                      "curve with transits, folded curve, views on phase axes, odd / even "
                      "transits, secondary eclipse, the members' probabilities.")


def predict_from_fits():
  """predict.py --tess_fits=FILE [...]: one TCE from FITS files given by path."""
  if None in (FLAGS.period, FLAGS.t0, FLAGS.duration):
    raise app.UsageError("--period, --t0 and --duration are required")
  if FLAGS.report and not FLAGS.report.endswith((".png", ".pdf")):
    raise app.UsageError("--report must end in .png or .pdf")
  model_paths, average = script_flags.model_source(FLAGS)
  for path in FLAGS.tess_fits:
    if not os.path.isfile(path):
      raise errors.LightCurveFileError("--tess_fits {} does not exist".format(path), path)
  # pylint: disable=import-outside-toplevel
  import numpy as np

  from astronet.data import tce_views
  from astronet.ops import prediction
  from light_curve_util import tess_io
  for path in FLAGS.tess_fits:
    tess_io.pipeline_of(path)  # Named before any model loads.
  members = prediction.load_members(model_paths, average, FLAGS.model)
  lengths = members[0].feature_lengths
  if missions.of_view_lengths(lengths) is not missions.TESS:
    raise errors.CheckpointError("The model in {} takes views {}, not tess views".format(
        FLAGS.model_dir or FLAGS.pretrained, lengths))
  name = "{} {}".format(missions.TESS.star_prefix, FLAGS.tic_id or os.path.basename(
      FLAGS.tess_fits[0]))
  time, flux = tce_views.tess_fits_light_curve(FLAGS.tess_fits, FLAGS.flux_column, name)
  views = tce_views.views_of(time, flux, FLAGS.period, FLAGS.t0, FLAGS.duration,
                             missions.TESS, name)
  batch = {key: np.asarray(views[key], np.float32)[None, :] for key in lengths}
  member_probabilities = [float(m.probabilities(batch)[0]) for m in members]
  probability = float(np.mean(member_probabilities))
  print("Prediction:", probability)
  if FLAGS.report:
    from astronet import vetting
    vetting.render(time, flux, vetting.Tce(FLAGS.tic_id or 0, FLAGS.period, FLAGS.t0,
                                           FLAGS.duration), missions.TESS,
                   member_probabilities, FLAGS.report)
    print("Vetting report:", FLAGS.report)
  if FLAGS.output_image_file:
    from astronet import plotting
    plotting.plot_views(views["global_view"], views["local_view"],
                        "{}: p = {:.3f}".format(name, probability), FLAGS.output_image_file,
                        plotting.view_axes(missions.TESS, FLAGS.period, FLAGS.duration))
  return 0


def main(argv):
  del argv
  if sum(map(bool, (FLAGS.kepler_data_dir, FLAGS.tess_data_dir, FLAGS.tess_fits))) != 1:
    raise app.UsageError("Give exactly one of --kepler_data_dir, --tess_data_dir and "
                         "--tess_fits")
  if FLAGS.tess_fits:
    return predict_from_fits()
  mission = missions.KEPLER if FLAGS.kepler_data_dir else missions.TESS
  star_id = FLAGS.tic_id if mission.has_sectors else FLAGS.kepler_id
  if star_id is None or None in (FLAGS.period, FLAGS.t0, FLAGS.duration):
    raise app.UsageError("The star id, --period, --t0 and --duration are required")
  model_paths, average = script_flags.model_source(FLAGS)
  data_dir = FLAGS.kepler_data_dir or FLAGS.tess_data_dir
  if not os.path.isdir(data_dir):
    raise errors.LightCurveFileError("--{}_data_dir {} is not a directory".format(
        mission.name, data_dir), data_dir)
  # pylint: disable=import-outside-toplevel
  import numpy as np

  from astronet.data import tce_views
  from astronet.ops import prediction
  members = prediction.load_members(model_paths, average, FLAGS.model)
  lengths = members[0].feature_lengths
  if missions.of_view_lengths(lengths) is not mission:
    raise errors.CheckpointError("The model in {} takes views {}, not {} views".format(
        FLAGS.model_dir or FLAGS.pretrained, lengths, mission.name))
  if FLAGS.report and not FLAGS.report.endswith((".png", ".pdf")):
    raise app.UsageError("--report must end in .png or .pdf")
  sector = FLAGS.sector if mission.has_sectors else None
  reading, name, time, flux = tce_views.tce_light_curve(
      star_id, mission.name, data_dir, sector,
      tess_format=FLAGS.tess_format if mission.has_sectors else None,
      flux_column=FLAGS.flux_column)
  views = tce_views.views_of(time, flux, FLAGS.period, FLAGS.t0, FLAGS.duration, reading, name)
  batch = {name: np.asarray(views[name], np.float32)[None, :] for name in lengths}
  member_probabilities = [float(m.probabilities(batch)[0]) for m in members]
  probability = float(np.mean(member_probabilities))
  print("Prediction:", probability)
  if FLAGS.report:
    from astronet import vetting
    vetting.render(time, flux, vetting.Tce(star_id, FLAGS.period, FLAGS.t0, FLAGS.duration,
                                           [sector] if sector else ()),
                   reading, member_probabilities, FLAGS.report)
    print("Vetting report:", FLAGS.report)
  if FLAGS.output_image_file:
    from astronet import plotting
    plotting.plot_views(views["global_view"], views["local_view"],
                        "{} {}: p = {:.3f}".format(mission.star_prefix, star_id,
                                                   probability),
                        FLAGS.output_image_file,
                        plotting.view_axes(mission, FLAGS.period, FLAGS.duration))
  return 0


if __name__ == "__main__":
  cli.run(main, define_flags, tensorflow=True)
