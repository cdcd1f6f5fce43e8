r"""Flare probability along a whole TESS light curve, merged flare intervals as CSV.

  python -m flare_transformer.predict --model=results/RUN/checkpoints/best_model.keras \
      --lightcurve=tess..._lc.fits --output_csv=flares.csv [--plot=flares.png]

--model is a .keras flare model (transformer or CNN baseline) or a training run
directory (its best_model.keras). See flare_transformer.detection for how the
windows' probabilities become per-cadence probabilities and intervals; the CSV
has columns start_time,end_time,peak_time,max_probability (BTJD days), then each
flare's measurements (flare_transformer.characterize: amplitude, fwhm_min, ed_s,
a Davenport template fit, energy_erg in the TESS band when the header has TEFF and
RADIUS). flares.json beside flares.csv gives the units, the star and the observed
time (days) that `python -m flare_transformer.ffd` turns counts into rates with.
"""

from __future__ import annotations

from absl import app
from absl import flags
from absl import logging

from tf_util import cli


def define_flags() -> None:
  flags.DEFINE_string("model", None, "Trained flare model (.keras) or its run directory.")
  flags.DEFINE_string("pretrained", None, "A flare model shipped with the project, by name "
                      "(`python -m astronet.pretrained list`), instead of --model.")
  flags.DEFINE_string("lightcurve", None, "TESS SPOC *_lc.fits light curve.")
  flags.DEFINE_string("output_csv", None, "Where the flare intervals go.")
  flags.DEFINE_string("plot", None, "Optional PNG of the light curve and probabilities "
                      "(detections numbered as the CSV's rows).")
  flags.DEFINE_string("catalog", None, "Optional flare table (CSV: TIC, tpeak_btjd, as in "
                      "training) whose flares of this star --plot marks, detected or missed.")
  flags.DEFINE_float("threshold", 0.5, "Probability threshold.", lower_bound=0, upper_bound=1)
  flags.DEFINE_integer("stride", 10, "Cadences between window starts.", lower_bound=1)
  flags.DEFINE_string("flux_column", "PDCSAP_FLUX", "Flux column (as in training).")
  flags.mark_flags_as_required(["lightcurve", "output_csv"])


def main(argv):
  del argv
  f = flags.FLAGS
  if bool(f.model) == bool(f.pretrained):
    raise app.UsageError("Give exactly one of --model and --pretrained")
  # pylint: disable=import-outside-toplevel
  import os

  from astronet import pretrained
  from flare_transformer import characterize
  from flare_transformer import data
  from flare_transformer import detection
  from flare_transformer import model as model_lib
  from tf_util import atomic_io
  atomic_io.check_writable(os.path.dirname(os.path.abspath(f.output_csv)))
  if f.catalog and not os.path.isfile(f.catalog):
    raise app.UsageError("--catalog {} does not exist".format(f.catalog))
  model_path = (pretrained.model_files(f.pretrained, "flare_transformer")[0] if f.pretrained
                else detection.resolve_model_path(f.model))
  lc = data.read_light_curve(f.lightcurve, f.flux_column)
  model = model_lib.load_model(model_path)
  probability, intervals = detection.detect(model, lc, f.threshold, f.stride)
  intervals = characterize.characterize_all(lc, intervals)
  detection.write_csv(intervals, f.output_csv,
                      [k for k in characterize.UNITS if k not in detection.CSV_COLUMNS])
  detection.write_sidecar(f.output_csv, lc, characterize.UNITS)
  if f.plot:
    peaks = data.read_catalog(f.catalog).get(lc.tic, {}).get("tpeak", []) if f.catalog \
        else None
    detection.plot(lc, probability, intervals, f.plot, f.threshold, peaks)
  logging.info("%d flare interval(s) written to %s", len(intervals), f.output_csv)
  print("{} flare interval(s) -> {}".format(len(intervals), f.output_csv))


if __name__ == "__main__":
  cli.run(main, define_flags, tensorflow=True)
