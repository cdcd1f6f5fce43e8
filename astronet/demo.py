r"""End-to-end demo on the bundled real data: light curves -> records -> ensemble -> ROC.

  python -m astronet.demo --output_dir=demo_output      # what `make demo` runs

Runs the same command lines a user types, printing each one:
  1. Kepler-90 i: Kepler FITS light curves -> spline detrending -> global and
     local views (npz + figures).
  2. generate_input_records.py: bundled TESS light curves and catalog ->
     TFRecords of "new" TCEs to classify (--make_test_set).
  3. ensemble_train-style training of --num_models AstroCNNModels (Triage
     config, different seeds) on the bundled slice of the real Astronet-Triage
     training records (320 TCEs). The demo uses lr 1e-4 instead of the
     original 1e-5 so that a few hundred steps learn something.
  4. evaluate.py on the real validation slice (160 TCEs).
  5. batch_predict.py --average on the new TCEs (and --export_ensemble).
  6. find_incorrect.py --average on the validation slice, then plot_roc.py:
     ROC and precision-recall figure.
  7. batch_predict.py --pretrained=triage_ensemble (the shipped model) on the new TCEs.
  8. python -m flare_transformer.predict --pretrained=flare_transformer on a real
     TESS sector: flares.csv (intervals and their measurements) and flares.png.
Takes a few minutes on 2 CPU cores.
"""

from __future__ import annotations

import json
import os
import pathlib
import shlex
import subprocess
import sys
import time

from absl import flags
from absl import logging

from tf_util import cli

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
# A real TESS SPOC sector (TIC 219423316, sector 6: a variable F star with a flare).
FLARE_LIGHT_CURVE = DATA / "tess" / "tess2018349182459-s0006-0000000219423316-0126-s_lc.fits"

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defines the command-line flags (only when run as a script)."""
  flags.DEFINE_string("output_dir", "demo_output", "Where to write everything.")
  flags.DEFINE_string("kepler_data_dir", str(DATA / "kepler" / "fits"),
                      "Base folder of Kepler FITS files (MAST layout).")
  flags.DEFINE_integer("num_models", 2, "Ensemble members to train.", lower_bound=1)
  flags.DEFINE_integer("train_steps", 300, "Training steps per member.", lower_bound=1)


def run_command(args: list[str], cwd: str) -> str:
  """Runs one CLI step as a user would, echoing it; returns its stdout."""
  print("\n$ " + " ".join(shlex.quote(a) for a in args), flush=True)
  env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
             TF_CPP_MIN_LOG_LEVEL="3")
  proc = subprocess.run([sys.executable] + args, cwd=cwd, env=env, capture_output=True,
                        text=True)
  if proc.stdout:
    print(proc.stdout.rstrip())
  if proc.returncode != 0:
    sys.stderr.write(proc.stderr[-5000:])
    raise RuntimeError("step failed (exit {}): {}".format(proc.returncode, " ".join(args)))
  return proc.stdout


def script(name: str) -> str:
  return str(ROOT / "astronet" / name)


def run(output_dir: str, kepler_data_dir: str, num_models: int, train_steps: int) -> dict:
  """Runs every step; returns {"val_metrics": ..., "predictions": ..., "files": ...}."""
  from astronet import demo_views  # pylint: disable=import-outside-toplevel
  start = time.time()
  out = os.path.abspath(output_dir)
  os.makedirs(out, exist_ok=True)
  records = str(DATA / "triage" / "records")

  print("== 1. Kepler-90 i: light curve -> views")
  demo_views.kepler90_views(kepler_data_dir, out, 11442793, 14.44912, 2.2, 0.11267)

  print("\n== 2. TESS light curves -> TFRecords of new TCEs")
  run_command([script("data/generate_input_records.py"),
               "--input_tce_csv_file=" + str(DATA / "triage" / "synthetic_tces.csv"),
               "--tess_data_dir=" + str(DATA / "triage" / "lightcurves"),
               "--output_dir=new_tces", "--make_test_set", "--test_set_min_sector=1",
               "--num_worker_processes=1", "--overwrite"], out)

  print("\n== 3. Train an ensemble of {} on the real Triage training slice".format(num_models))
  overrides = json.dumps({"hparams": {"learning_rate": 1e-4}})
  for i in range(1, num_models + 1):
    run_command([script("train.py"), "--model=AstroCNNModel", "--config_name=local_global",
                 "--train_files=" + os.path.join(records, "train-slice*"),
                 "--eval_files=" + os.path.join(records, "val-slice*"),
                 "--model_dir=" + os.path.join("ensemble", "model_{}".format(i)),
                 "--train_steps={}".format(train_steps), "--seed={}".format(i),
                 "--eval_every_steps={}".format(train_steps),
                 "--config_overrides=" + overrides], out)

  print("\n== 4. Evaluate member 1 on the real validation slice")
  run_command([script("evaluate.py"), "--model_dir=ensemble/model_1",
               "--eval_files=" + os.path.join(records, "val-slice*"),
               "--output=metrics_val_model_1.json"], out)

  print("\n== 5. Classify the new TCEs with the averaged ensemble")
  run_command([script("batch_predict.py"), "--model_dir=ensemble", "--average",
               "--tfrecord_dir=new_tces", "--suffix=new_tces",
               "--export_ensemble=ensemble.keras", "--plot", "--save_dir=plots_new_tces"], out)

  from astronet.ops import prediction_files  # pylint: disable=import-outside-toplevel
  predictions = prediction_files.read_predictions(os.path.join(out, "prediction_new_tces.txt"))
  print("prediction_new_tces.txt (TIC id, probability of PC/EB):")
  for tic, p in predictions.items():
    print("  {} {:.3f}".format(tic, p))

  print("\n== 6. Misclassified validation TCEs, ROC and precision-recall")
  run_command([script("find_incorrect.py"), "--model_dir=ensemble", "--average",
               "--tfrecord_dir=" + records, "--tfrecord_pattern=val-slice*", "--suffix=val",
               "--plot", "--plot_dispositions=PC,EB,J", "--plot_threshold=0.5",
               "--save_dir=plots_misclassified"], out)
  run_command([script("plot_roc.py"), "--input_files=true_vs_pred_val.txt",
               "--labels=ensemble of {} (val slice)".format(num_models),
               "--output_file=roc_val.png"], out)

  from astronet import pretrained  # pylint: disable=import-outside-toplevel
  shipped = "triage_ensemble" if not getattr(pretrained.entries().get("triage_ensemble"),
                                             "unavailable", "missing") else "triage"
  print("\n== 7. Score the new TCEs with the shipped model (--pretrained={})".format(shipped))
  run_command([script("batch_predict.py"), "--pretrained=" + shipped,
               "--tfrecord_dir=new_tces", "--suffix=pretrained"], out)
  shipped_predictions = prediction_files.read_predictions(
      os.path.join(out, "prediction_pretrained.txt"))
  for tic, p in shipped_predictions.items():
    print("  {} {:.3f}".format(tic, p))

  flares = None
  if not getattr(pretrained.entries().get("flare_transformer"), "unavailable", "missing"):
    print("\n== 8. Flares in a real TESS light curve with the shipped flare transformer")
    run_command(["-m", "flare_transformer.predict", "--pretrained=flare_transformer",
                 "--lightcurve=" + str(FLARE_LIGHT_CURVE), "--output_csv=flares.csv",
                 "--plot=flares.png"], out)
    flares = os.path.join(out, "flares.csv")

  with open(os.path.join(out, "metrics_val_model_1.json")) as f:
    val_metrics = json.load(f)
  print("\nDemo finished in {:.0f} s. Outputs in {}:".format(time.time() - start, out))
  for name in ("kic11442793_p14.4491_views.png", "prediction_new_tces.txt", "ensemble.keras",
               "true_vs_pred_val.txt", "roc_val.png", "prediction_pretrained.txt") + (
                   ("flares.csv", "flares.png") if flares else ()):
    print("  " + name)
  return {"val_metrics": val_metrics, "predictions": predictions,
          "pretrained_predictions": shipped_predictions, "flares_csv": flares,
          "output_dir": out}


def main(argv):
  del argv
  try:
    run(FLAGS.output_dir, FLAGS.kepler_data_dir, FLAGS.num_models, FLAGS.train_steps)
  except RuntimeError as e:
    logging.error("%s", e)
    return 1
  return 0


if __name__ == "__main__":
  cli.run(main, define_flags)
