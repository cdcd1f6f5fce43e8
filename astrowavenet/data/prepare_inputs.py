r"""Writes Kepler (or TESS) light curves as AstroWaveNet input TFRecords.

  # TESS: python astrowavenet/data/prepare_inputs.py --tess_data_dir=tess/ \
  #   --tic_ids=100000001 --sector=2 --output_file=...

  python astrowavenet/data/prepare_inputs.py --kepler_data_dir=kepler/ \
    --kepler_ids=11442793,10666592 --output_file=astrowavenet/train-00000-of-00001 \
    [--upward_outlier_clipping=5 --normalize_stddev]

--kepler_ids is a comma-separated list, or --input_csv a CSV with a `kepid`
column. A star whose files are missing or unreadable is logged and skipped;
the rest are written (atomically).
"""

from __future__ import annotations

from absl import app
from absl import flags
from absl import logging

from tf_util import cli

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defines the command-line flags (only when run as a script)."""
  flags.DEFINE_string("kepler_data_dir", None, "Base folder of Kepler FITS files.")
  flags.DEFINE_list("kepler_ids", None, "Kepler IDs.")
  flags.DEFINE_string("input_csv", None, "CSV with a kepid column (instead of --kepler_ids).")
  flags.DEFINE_string("tess_data_dir", None, "Base folder of Triage h5 files (instead of Kepler).")
  flags.DEFINE_list("tic_ids", None, "TIC IDs (with --tess_data_dir).")
  flags.DEFINE_integer("sector", 1, "TESS sector (with --tess_data_dir).", lower_bound=1)
  flags.DEFINE_string("output_file", None, "Output TFRecord file.")
  flags.DEFINE_string("flux_column", "PDCSAP_FLUX", "Flux column.")
  flags.DEFINE_boolean("invert_light_curves", False, "Reflect about the median flux.")
  flags.DEFINE_float("upward_outlier_clipping", None, "Clip above this many stddevs.",
                     lower_bound=0)
  flags.DEFINE_float("downward_outlier_clipping", None, "Clip below this many stddevs.",
                     lower_bound=0)
  flags.DEFINE_integer("clip_lowest_n_values", None, "Clip to the n-th lowest value.",
                       lower_bound=1)
  flags.DEFINE_boolean("normalize_stddev", False, "Divide the flux by 1.4826 * MAD.")


def prepare(kepler_ids, kepler_data_dir: str | None, output_file: str,
            tess_data_dir: str | None = None, sector: int = 1, **options) -> dict:
  """Writes the records; returns {"written": n, "failed": {id: reason}}.

  Kepler ids with `kepler_data_dir`, or TIC ids of `sector` with `tess_data_dir`.
  """
  # pylint: disable=import-outside-toplevel
  from astronet.data import records
  from astrowavenet.data import kepler_light_curves
  from light_curve_util import kepler_io
  from tf_util import errors
  examples, failed = [], {}
  for kepler_id in kepler_ids:
    try:
      if tess_data_dir:
        clip_options = {k: v for k, v in options.items() if k not in ("flux_column", "invert")}
        arrays = kepler_light_curves.process_tess_light_curve(int(kepler_id), tess_data_dir,
                                                              sector, **clip_options)
      else:
        filenames = kepler_io.kepler_filenames(kepler_data_dir, int(kepler_id))
        if not filenames:
          raise errors.LightCurveFileError("No FITS files for KIC {} in {}".format(
              kepler_id, kepler_data_dir))
        arrays = kepler_light_curves.process_light_curve(filenames, **options)
    except (errors.AstronetError, OSError, ValueError) as e:
      logging.warning("Skipping KIC %s: %s", kepler_id, e)
      failed[int(kepler_id)] = str(e)
      continue
    examples.append(kepler_light_curves.make_example(
        int(kepler_id), *arrays,
        flux_column="KSPMagnitude" if tess_data_dir else options.get("flux_column", "PDCSAP_FLUX"),
        id_feature="tic_id" if tess_data_dir else "kepler_id"))
  if not examples:
    raise errors.EmptyLightCurveError("No light curve could be read: {}".format(failed))
  records.write_records_atomically(output_file, (e.SerializeToString() for e in examples))
  return {"written": len(examples), "failed": failed}


def main(argv):
  del argv
  if not FLAGS.output_file or not ((FLAGS.kepler_data_dir and (FLAGS.kepler_ids or
                                                                FLAGS.input_csv))
                                   or (FLAGS.tess_data_dir and FLAGS.tic_ids)):
    raise app.UsageError("--output_file and either --kepler_data_dir with --kepler_ids / "
                         "--input_csv, or --tess_data_dir with --tic_ids are required")
  from tf_util import errors  # pylint: disable=import-outside-toplevel
  ids = FLAGS.tic_ids if FLAGS.tess_data_dir else FLAGS.kepler_ids
  if FLAGS.input_csv and not FLAGS.tess_data_dir:
    import pandas as pd  # pylint: disable=import-outside-toplevel
    ids = pd.read_csv(FLAGS.input_csv, comment="#")["kepid"].drop_duplicates().tolist()
  try:
    result = prepare(ids, FLAGS.kepler_data_dir, FLAGS.output_file,
                     tess_data_dir=FLAGS.tess_data_dir, sector=FLAGS.sector,
                     flux_column=FLAGS.flux_column, invert=FLAGS.invert_light_curves,
                     upward_outlier_clipping=FLAGS.upward_outlier_clipping,
                     downward_outlier_clipping=FLAGS.downward_outlier_clipping,
                     clip_lowest_n_values=FLAGS.clip_lowest_n_values,
                     normalize_stddev=FLAGS.normalize_stddev)
  except errors.AstronetError as e:
    logging.error("%s", e)
    return 1
  print("Wrote {} light curves to {} ({} failed)".format(result["written"], FLAGS.output_file,
                                                         len(result["failed"])))
  return 0


if __name__ == "__main__":
  cli.run(main, define_flags, tensorflow=True)
