"""Command-line flags shared by the scripts that predict with trained models.

Defined only when a script runs (absl flags are global), and without importing
TensorFlow, so that `--help` stays fast.
"""

from __future__ import annotations

from absl import app
from absl import flags


def define_model_flags(default_pattern: str) -> None:
  """Flags naming the model(s) and the records to predict (batch_predict, find_incorrect)."""
  flags.DEFINE_string("model", None, "Name of the model class (checked against model_dir).")
  flags.DEFINE_string("config_name", None, "Accepted for compatibility: the model "
                      "directories hold their config.")
  flags.DEFINE_string("config_json", None, "Accepted for compatibility (unused).")
  flags.DEFINE_string("model_dir", None, "The model: model_dir (train.py or original "
                      "TF1), .keras file, exported SavedModel, or comma-separated list; "
                      "with --average, directories of models.")
  flags.DEFINE_string("tfrecord_dir", None, "Directory of the TFRecord files.")
  flags.DEFINE_string("tfrecord_pattern", default_pattern,
                      "Glob of the files to predict inside --tfrecord_dir.")
  flags.DEFINE_string("suffix", "", "Suffix of the output file name.")
  flags.DEFINE_boolean("average", False, "Average the models in the subdirectories "
                       "of --model_dir.")
  flags.DEFINE_integer("batch_size", 256, "Records per prediction batch.", lower_bound=1)
  define_pretrained_flag()


def define_pretrained_flag() -> None:
  """--pretrained=NAME: a model shipped with the project instead of --model_dir."""
  flags.DEFINE_string("pretrained", None, "A model shipped with the project, by name "
                      "(`python -m astronet.pretrained list`), instead of --model_dir; an "
                      "ensemble name averages its members (as --average).")


def model_source(flag_values, model_flag: str = "model_dir") -> tuple[str, bool]:
  """(model paths, average) of --model_dir / --average or --pretrained, exactly one given.

  Raises:
    UsageError: Both or neither given.
    CheckpointError: Unknown, unavailable or damaged pretrained model.
  """
  from astronet import pretrained  # noqa: PLC0415  (kept out of --help)
  given = getattr(flag_values, model_flag)
  if bool(given) == bool(flag_values.pretrained):
    raise app.UsageError("Give exactly one of --{} and --pretrained".format(model_flag))
  if given:
    return given, bool(getattr(flag_values, "average", False))
  return ",".join(pretrained.model_files(flag_values.pretrained, "astronet")), False


def define_device_flags() -> None:
  """--distribution, --mixed_precision, --jit_compile and the thread pools
  (train.py, train_ensemble.py, finetune.py, astrowavenet/trainer.py)."""
  flags.DEFINE_enum("distribution", None, ["none", "mirrored", "one_device", "multi_worker"],
                    "tf.distribute strategy: mirrored = every local GPU (one device on CPU); "
                    "multi_worker = the machines of TF_CONFIG (run the same command on "
                    "each, with its own TF_CONFIG task; worker 0 writes --model_dir).")
  flags.DEFINE_boolean("mixed_precision", False, "float16 compute with float32 weights "
                       "(mixed_float16) and loss scaling; for GPUs.")
  flags.DEFINE_boolean("jit_compile", False, "Compile the train step with XLA.")
  flags.DEFINE_integer("intra_op_threads", 0, "TensorFlow threads inside one op (0: "
                       "TensorFlow's default, one per core).", lower_bound=0)
  flags.DEFINE_integer("inter_op_threads", 0, "TensorFlow ops run at once (0: TensorFlow's "
                       "default). An ensemble trained together on a small CPU is faster "
                       "with --intra_op_threads=1 --inter_op_threads=2.", lower_bound=0)


def define_step_flags(default_train_steps: int) -> None:
  """--train_steps, --eval_every_steps, --save_every_steps and --seed of the
  step-based trainers (train.py, train_ensemble.py, astrowavenet/trainer.py)."""
  flags.DEFINE_integer("train_steps", default_train_steps, "Total number of steps to "
                       "train for.", lower_bound=1)
  flags.DEFINE_integer("eval_every_steps", 1000, "Evaluate every this many steps.",
                       lower_bound=1)
  flags.DEFINE_integer("save_every_steps", 1000, "Checkpoint every this many steps.",
                       lower_bound=1)
  flags.DEFINE_integer("seed", None, "Seed of weights, shuffling and reversal.",
                       lower_bound=0)


def define_training_flags() -> None:
  """The flags of train.py (also train_ensemble.py's, which adds its own)."""
  flags.DEFINE_string("model", "AstroCNNModel", "Name of the model class.")
  flags.DEFINE_string("config_name", "local_global",
                      "Name of the model and training configuration.")
  flags.DEFINE_enum("mission", None, ["kepler", "tess"],
                    "Mission of the records; inferred from them if unset.")
  flags.DEFINE_string("config_overrides", None, "JSON merged into the config.")
  flags.DEFINE_string("train_files", None, "Comma-separated list of file patterns "
                      "matching the TFRecord files of the training set.")
  flags.DEFINE_string("eval_files", None, "File patterns of the validation set.")
  flags.DEFINE_string("model_dir", None, "Directory for model checkpoints and summaries.")
  define_step_flags(14000)
  flags.DEFINE_integer("shuffle_buffer_size", 15000, "Size of the shuffle buffer.",
                       lower_bound=1)
  flags.DEFINE_string("warm_start_from", None, "Initial weights (fine-tuning): a "
                      "checkpoint of the ORIGINAL TF1 code (directory or prefix), a "
                      ".keras file or a model_dir of this package. Ignored when "
                      "--model_dir already has a checkpoint (training resumes).")
  define_device_flags()
  flags.DEFINE_boolean("restore_optimizer", False, "With a TF1 --warm_start_from: also "
                       "restore its Adam moments and global step.")


def define_record_flags() -> None:
  """The flags of the record scripts (generate_input_records.py, the Beam pipeline,
  inject_transits.py)."""
  flags.DEFINE_list(
      "input_tce_csv_file", None,
      "TCE catalog CSV file(s), comma-separated. Kepler: DR24 TCE table with "
      "rowid, kepid, tce_plnt_num, tce_period, tce_time0bk, tce_duration (hours), "
      "av_training_set. TESS: Triage tces.csv (row_id, tic_id, toi_id, "
      "Disposition, ..., Epoc, Period, Duration (hours), ..., SN).")
  flags.DEFINE_string("kepler_data_dir", None, "Base folder containing Kepler data.")
  flags.DEFINE_string("tess_data_dir", None,
                      "Base folder of TESS light curves: Triage h5 (sector-{S}/{tic}.h5), "
                      "SPOC or QLP FITS from MAST (flat, or in MAST's directory layout).")
  flags.DEFINE_enum("tess_format", "auto", ["auto", "h5", "spoc", "qlp"],
                    "TESS light curves to read: auto = the Triage h5 if present, else SPOC "
                    "(tess*-s{SSSS}-{TIC:016d}-*-s_lc.fits), else QLP (hlsp_qlp_*_llc.fits).")
  flags.DEFINE_string("flux_column", None, "FITS flux column: SPOC PDCSAP_FLUX (default) or "
                      "SAP_FLUX; QLP KSPSAP_FLUX / DET_FLUX (default) or SAP_FLUX.")
  flags.DEFINE_enum("sectors", "catalog", ["catalog", "all"], "TESS FITS: the TCE's own "
                    "sector (catalog, the original's behaviour) or every sector found for "
                    "the TIC, stitched with per-sector normalisation (all).")
  flags.DEFINE_string("output_dir", None, "Directory in which to save the output.")
  flags.DEFINE_integer("num_train_shards", 8,
                       "Number of file shards to divide the training set into "
                       "(and the test set, with --make_test_set).", lower_bound=1,
                       upper_bound=99999)
  flags.DEFINE_integer("num_worker_processes", 5,
                       "Number of subprocesses for processing the TCEs in parallel.",
                       lower_bound=1, upper_bound=1024)
  flags.DEFINE_enum("start_method", None, ["spawn", "fork", "forkserver"],
                    "multiprocessing start method; the platform default if unset.")
  flags.DEFINE_boolean("clean", False,
                       "Exclude train/val TCEs with S/N below --threshold.")
  flags.DEFINE_float("threshold", 15, "Exclude TCEs with S/N below this if --clean.")
  flags.DEFINE_boolean("make_test_set", False,
                       "Generate just a test set (TESS: Sectors >= "
                       "--test_set_min_sector) rather than train/val/test.")
  flags.DEFINE_integer("test_set_min_sector", 4,
                       "First sector included by --make_test_set (Triage: 4).", lower_bound=1)
  flags.DEFINE_boolean("overwrite", False,
                       "Rewrite shards that already exist in --output_dir.")
  flags.DEFINE_boolean(
      "reproduce_is_multi_quirk", False,
      "TESS: write is_multi=0 for every TCE and never trim multi-sector light "
      "curves, as the original did by accident. Gives records identical to the "
      "published Triage shards.")
  flags.DEFINE_enum(
      "spline_backend", "numpy", ["numpy", "pydl"],
      "Kepler spline fitter: 'numpy' (vectorised, same fit to ~1e-14) or 'pydl' "
      "(the original's, several times slower).")


def record_flag_values() -> dict:
  """{name: value} of the flags define_record_flags defines (keyword arguments of
  astronet.data.record_generation.plan)."""
  from astronet.data import record_generation  # noqa: PLC0415  (record_generation loads the catalog and light-curve stack; the scripts' --help does not need it)
  names = ("input_tce_csv_file",) + record_generation.MANIFEST_SETTINGS
  return {name: flags.FLAGS[name].value for name in names}
