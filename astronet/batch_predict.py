r"""Predicts every TCE of a set of TFRecords with one model or an ensemble.

  # One model:
  python astronet/batch_predict.py --model_dir=model/ --tfrecord_dir=tfrecords/ \
    --suffix=yyy
  # Ensemble (MODEL_DIR holds model_1 ... model_10 of ensemble_train.sh),
  # with a figure of each TCE's views and the ensemble exported as ONE model:
  python astronet/batch_predict.py --model_dir=${MODEL_DIR} --average \
    --tfrecord_dir=tfrecords/ --suffix=yyy --plot --save_dir=astronet/plots \
    --export_ensemble=ensemble.keras

Reads `tfrecord_dir/test-0000*` (the original's glob; --tfrecord_pattern
changes it) and writes `prediction_{suffix}.txt` in --output_dir (default: the
current directory, as the original): one line `"%d %4.3f" % (tic_id, p)` per
star, p the mean over its records (all sectors) and over the models, in
first-seen order. --per_tce keys by TCE instead (`"%d %d %4.3f"`: id, sector
or planet number, p).

--model_dir is any model form: a model directory of train.py or of the original
TF1 code, a .keras file (e.g. an exported ensemble), an exported SavedModel
directory, or a comma-separated list of them; with --average each is a
directory whose model subdirectories / .keras files are averaged. Records
whose views hold NaN are skipped and named in the log. --pretrained=NAME takes a
shipped model instead (python -m astronet.pretrained list).

Straight from a catalog and the light curves, without TFRecords:

  python astronet/batch_predict.py --pretrained=triage --input_tce_csv_file=tces.csv \
    --tess_data_dir=mast/ [--tess_format=spoc] [--num_worker_processes=2]

The catalog needs the star id, period (days), epoch, duration (hours) and, for
TESS, the sector (tic_id, Period, Epoc, Duration, Sectors; Kepler kepid,
tce_period, tce_time0bk, tce_duration); the label is optional. Light curves are
read, processed and binned as generate_input_records.py does, in parallel
workers with a progress bar; TCEs that fail are listed with the reason in
--output_dir/failed_tces.csv and the others are predicted.
"""

from __future__ import annotations

import os
import time

from absl import app
from absl import flags
from absl import logging

from astronet.util import script_flags
from tf_util import cli

FLAGS = flags.FLAGS

# Probability at or above which a plotted TCE is labelled "PC/EB" (original).
PLOT_LABEL_THRESHOLD = 0.4


def define_flags() -> None:
  """Defines the command-line flags (only when run as a script)."""
  script_flags.define_model_flags("test-0000*")
  flags.DEFINE_boolean("plot", False, "Plot the views of every TCE into --save_dir.")
  flags.DEFINE_string("save_dir", None, "Directory of the plots.")
  flags.DEFINE_boolean("per_tce", False, "Key predictions by TCE (id and sector / "
                       "planet number) instead of by star.")
  flags.DEFINE_string("output_dir", ".", "Directory of prediction_{suffix}.txt.")
  flags.DEFINE_string("input_tce_csv_file", None, "Predict the TCEs of this catalog from "
                      "their light curves (no TFRecords); see the module docstring.")
  flags.DEFINE_string("kepler_data_dir", None, "With --input_tce_csv_file: Kepler FITS "
                      "folder (MAST layout or flat).")
  flags.DEFINE_string("tess_data_dir", None, "With --input_tce_csv_file: TESS light curves "
                      "(Triage h5, SPOC or QLP FITS; flat or MAST layout).")
  flags.DEFINE_enum("tess_format", "auto", ["auto", "h5", "spoc", "qlp"],
                    "TESS light curves to read (auto: h5, else SPOC, else QLP).")
  flags.DEFINE_string("flux_column", None, "FITS flux column (default: the pipeline's).")
  flags.DEFINE_enum("sectors", "catalog", ["catalog", "all"], "TESS FITS: the TCE's own "
                    "sector, or every sector of the TIC stitched (all).")
  flags.DEFINE_string("report_dir", None, "With --input_tce_csv_file: one vetting report "
                      "(PNG) per TCE here, {id}-{sector or planet}.png (see predict.py --report).")
  flags.DEFINE_integer("num_worker_processes", 1, "Processes making views from light curves "
                       "(--input_tce_csv_file) and drawing the --plot figures.",
                       lower_bound=1, upper_bound=1024)
  flags.DEFINE_enum("backend", "auto", ["auto", "tensorflow", "onnx"],
                    "What runs the models. onnx: onnxruntime, without importing TensorFlow "
                    "(.keras members and --pretrained names; each converted once into "
                    "~/.cache/astronet/onnx/); auto: onnx when every member is already "
                    "converted and nothing else needs TensorFlow (--plot, --export_ensemble, "
                    "--input_tce_csv_file, remote files), else tensorflow.")
  flags.DEFINE_string("export_ensemble", None, "Also save the (averaged) models as ONE "
                      "model with a model card: .keras file, .onnx file, or else a "
                      "SavedModel directory (see export_model.py).")


def plot_records(records, probabilities, save_dir: str, processes: int = 1) -> int:
  """One figure of the views per record, titled with the mean prediction (in
  `processes` parallel workers)."""
  from astronet import plotting  # pylint: disable=import-outside-toplevel
  global_view = records.views.get("global_view")
  local_view = records.views.get("local_view")
  if global_view is None or local_view is None:
    raise ValueError("--plot needs models reading global_view and local_view")
  items = []
  for i, (star, sub) in enumerate(zip(records.ids, records.sub_ids)):
    p = float(probabilities[i])
    label = "PC/EB" if p >= PLOT_LABEL_THRESHOLD else "junk"
    items.append((global_view[i], local_view[i], "{} {}: {} - {:.3f}".format(star, sub, label, p),
                  os.path.join(save_dir, "{}-{}.png".format(star, sub))))
  start = time.time()
  count = plotting.plot_views_many(items, processes)
  logging.info("Plotted %d record(s) in %.1f s with %d process(es)", count,
               time.time() - start, processes)
  return count


def views_of_catalog(catalog, config, feature_lengths):
  """(Records, [catalog file]) of the catalog's TCEs; failures -> failed_tces.csv."""
  # pylint: disable=import-outside-toplevel
  from astronet import missions
  from astronet.data import catalog_views
  from astronet.data import records as records_lib
  from tf_util import errors
  mission = config.mission_config
  if missions.of_view_lengths(feature_lengths) is not missions.get_mission(mission.name):
    raise errors.CheckpointError("The model takes views {}, not {} views".format(
        feature_lengths, mission.name))
  records, failures = catalog_views.views_from_catalog(
      catalog, config, FLAGS.input_tce_csv_file, FLAGS.num_worker_processes)
  if failures:
    path = os.path.join(FLAGS.output_dir, records_lib.FAILED_TCES_FILE)
    records_lib.write_failures(path, failures)
    logging.warning("%d of %d TCE(s) failed; listed with the reason in %s", len(failures),
                    len(catalog), path)
  if not len(records):
    cli.fail("every one of the {} TCEs failed (see {})".format(
        len(catalog), os.path.join(FLAGS.output_dir, records_lib.FAILED_TCES_FILE)),
        cli.EXIT_FAILURE)
  return records, [FLAGS.input_tce_csv_file]


def onnx_member_files() -> list[str] | None:
  """The members' .keras files when --backend selects onnxruntime, else None.

  Raises:
    UsageError: --backend=onnx for a job it cannot run (names why).
  """
  if FLAGS.backend == "tensorflow":
    return None
  # pylint: disable=import-outside-toplevel
  from astronet.ops import model_files
  from astronet.ops import onnx_inference
  from tf_util import tfrecord_io
  needs_tensorflow = [flag for flag, value in (
      ("--input_tce_csv_file", FLAGS.input_tce_csv_file), ("--plot", FLAGS.plot),
      ("--export_ensemble", FLAGS.export_ensemble), ("--report_dir", FLAGS.report_dir),
      ("--model", FLAGS.model)) if value]
  if FLAGS.tfrecord_dir and "://" in FLAGS.tfrecord_dir:
    needs_tensorflow.append("a remote --tfrecord_dir")
  if not (onnx_inference.available() and tfrecord_io.available()):
    needs_tensorflow.append("onnxruntime / google-crc32c (pip install 'astronet-tf2[onnx]')")
  paths = model_files.model_paths(*script_flags.model_source(FLAGS))
  others = [p for p in paths if not onnx_inference.convertible(p)]
  if others:
    needs_tensorflow.append("model forms other than .keras ({})".format(others[0]))
  if needs_tensorflow:
    if FLAGS.backend == "onnx":
      raise app.UsageError("--backend=onnx cannot run this job: it needs TensorFlow for "
                           "{}".format(", ".join(needs_tensorflow)))
    return None
  if FLAGS.backend == "auto" and not all(
      os.path.exists(onnx_inference.cached_path(p)) for p in paths):
    return None  # auto never pays for a conversion
  return paths


def predict_with_onnx(paths: list[str]):
  """(records, filenames, probabilities [members, records]) with onnxruntime."""
  # pylint: disable=import-outside-toplevel
  from astronet.ops import onnx_inference
  from astronet.ops import record_arrays
  if not all(os.path.exists(onnx_inference.cached_path(p)) for p in paths):
    cli.import_tensorflow()  # converting needs it (once per model)
  members = onnx_inference.load_members(paths, convert_missing=True)
  logging.info("%d model(s) on onnxruntime: %s", len(members),
               ", ".join(m.name for m in members))
  filenames = record_arrays.expand_file_pattern(os.path.join(FLAGS.tfrecord_dir,
                                                             FLAGS.tfrecord_pattern))
  records = usable_records(record_arrays.read_records_local(
      filenames, members[0].feature_lengths), filenames)
  return records, onnx_inference.predict_members(members, records.views, FLAGS.batch_size)


def usable_records(records, filenames: list[str]):
  """The records whose views are finite (the others are named in the log).

  Raises:
    RecordFormatError: None is left.
  """
  # pylint: disable=import-outside-toplevel
  from astronet.ops import record_arrays
  from tf_util import errors
  records, skipped = record_arrays.split_non_finite(records)
  if skipped:
    logging.warning("Skipped %d record(s) whose views hold NaN or inf: %s", len(skipped),
                    ", ".join(skipped[:20]) + (" ..." if len(skipped) > 20 else ""))
  if not len(records):
    raise errors.RecordFormatError("No usable records in {}".format(", ".join(filenames)))
  logging.info("Read %d records from %d file(s)", len(records), len(filenames))
  return records


def write_prediction_file(records, probabilities, start: float) -> None:
  """prediction_{suffix}.txt: the mean probability per star (or per TCE)."""
  # pylint: disable=import-outside-toplevel
  from astronet.ops import prediction_files
  from astronet.ops import record_arrays
  keys = (list(zip(records.ids.tolist(), records.sub_ids.tolist())) if FLAGS.per_tce
          else records.ids.tolist())
  predictions = record_arrays.average_by_key(keys, probabilities)
  path = os.path.join(FLAGS.output_dir, prediction_files.prediction_file_name(FLAGS.suffix))
  prediction_files.write_predictions(path, predictions, FLAGS.per_tce)
  elapsed = time.time() - start
  logging.info("Wrote %d predictions (%d records, %d models) to %s in %.1f s "
               "(%.0f TCEs/s)", len(predictions), len(records), len(probabilities), path,
               elapsed, len(records) / max(elapsed, 1e-9))


def main(argv):
  del argv
  if FLAGS.tfrecord_dir and FLAGS.input_tce_csv_file:
    raise app.UsageError("Give --tfrecord_dir or --input_tce_csv_file, not both")
  if not FLAGS.tfrecord_dir and not FLAGS.input_tce_csv_file and not FLAGS.export_ensemble:
    raise app.UsageError("--tfrecord_dir or --input_tce_csv_file is required (or only "
                         "--export_ensemble)")
  if FLAGS.report_dir and not FLAGS.input_tce_csv_file:
    raise app.UsageError("--report_dir needs --input_tce_csv_file (the light curves)")
  if FLAGS.input_tce_csv_file and not (FLAGS.kepler_data_dir or FLAGS.tess_data_dir):
    raise app.UsageError("--input_tce_csv_file needs --kepler_data_dir or --tess_data_dir")
  if FLAGS.plot and not FLAGS.save_dir:
    raise app.UsageError("--plot needs --save_dir")
  # pylint: disable=import-outside-toplevel
  from tf_util import atomic_io
  start = time.time()
  atomic_io.check_writable(FLAGS.output_dir)
  onnx_paths = onnx_member_files() if FLAGS.tfrecord_dir else None
  if onnx_paths is not None:
    records, probabilities = predict_with_onnx(onnx_paths)
    write_prediction_file(records, probabilities, start)
    return 0
  cli.import_tensorflow()
  from astronet.ops import prediction
  catalog = None
  if FLAGS.input_tce_csv_file:  # Checked before any model is loaded or light curve read.
    from astronet.data import record_generation
    from astronet.data import tce_table
    mission, config = record_generation.record_config(
        FLAGS.kepler_data_dir, FLAGS.tess_data_dir, tess_format=FLAGS.tess_format,
        flux_column=FLAGS.flux_column, sectors=FLAGS.sectors)
    catalog = tce_table.read_prediction_catalog(FLAGS.input_tce_csv_file, mission)
  if FLAGS.export_ensemble:
    from astronet.ops import model_export
    model_export.check_output(FLAGS.export_ensemble,
                              model_export.format_of(FLAGS.export_ensemble))
  members = prediction.load_members(*script_flags.model_source(FLAGS), FLAGS.model)
  logging.info("%d model(s): %s", len(members), ", ".join(m.name for m in members))
  if FLAGS.export_ensemble:
    model_export.export_members(members, FLAGS.export_ensemble,
                                model_export.format_of(FLAGS.export_ensemble))
    logging.info("Exported the ensemble to %s", FLAGS.export_ensemble)
  if catalog is not None:
    records, filenames = views_of_catalog(catalog, config, members[0].feature_lengths)
  elif not FLAGS.tfrecord_dir:
    return 0
  else:
    filenames = prediction.record_files(FLAGS.tfrecord_dir, FLAGS.tfrecord_pattern)
    records = prediction.read_records(filenames, members[0].feature_lengths)
  records = usable_records(records, filenames)
  probabilities = prediction.predict_members(members, records, FLAGS.batch_size)
  write_prediction_file(records, probabilities, start)
  if FLAGS.plot:
    plot_records(records, probabilities.mean(axis=0), FLAGS.save_dir,
                 FLAGS.num_worker_processes)
  if FLAGS.report_dir:
    write_reports(catalog, config, records, probabilities, FLAGS.report_dir)
  return 0


def write_reports(catalog, config, records, probabilities, report_dir: str) -> int:
  """One vetting report per predicted TCE (the catalog's rows, by record_index)."""
  # pylint: disable=import-outside-toplevel
  from astronet import vetting
  from astronet.data import tce_views
  from tf_util import atomic_io
  os.makedirs(report_dir, exist_ok=True)
  atomic_io.check_writable(report_dir)
  mission = config.mission_config
  for i, row_index in enumerate(records.record_index):
    row = catalog.iloc[int(row_index)]
    sector = int(row[mission.sector_column]) if mission.has_sectors else None
    _, _, time, flux = tce_views.tce_light_curve(
        int(row[mission.id_column]), mission, config.data_dir, sector)
    period, t0, duration = mission.tce_params(row)
    vetting.render(time, flux, vetting.Tce(int(row[mission.id_column]), period, t0, duration,
                                           [sector] if sector else (),
                                           str(row.get(mission.label_column, ""))),
                   mission, probabilities[:, i],
                   os.path.join(report_dir, "{}-{}.png".format(records.ids[i],
                                                               records.sub_ids[i])))
  logging.info("Wrote %d vetting report(s) to %s", len(records), report_dir)
  return len(records)


if __name__ == "__main__":
  # TensorFlow is imported in main, only where the job needs it (not with onnxruntime).
  cli.run(main, define_flags)
