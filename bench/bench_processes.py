"""Whole-process timings: batch prediction on a real shard and `--help` start-up.

  * batch_predict.py on the real Astronet-Triage test shard (1,658 records), the
    whole process as a user runs it (python start-up, imports, reading,
    prediction, writing), with the shipped `triage` (1 model) and
    `triage_ensemble` (10 members), on the TensorFlow backend and on onnxruntime
    (the ONNX cache is filled first, in a private cache folder), best of
    --repeats; the two backends' prediction files are compared;
  * `--help` of every script: seconds, and whether TensorFlow was imported.

The originals' figures on this machine kind (issue #21: the original
Astronet-Triage batch prediction, 1 model, 7.1 s) are printed beside ours
as a ratio; they were measured by the issue, not here.

  python bench/bench_processes.py [--test_shard ../shared/fixtures/triage/tfrecords/test-*]
"""

from __future__ import annotations

import argparse
import glob
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bench_util  # pylint: disable=g-import-not-at-top

ORIGINAL_BATCH_PREDICT_1_MODEL_S = 7.1  # issue #21, the original on this machine kind
HELP_SCRIPTS = ("astronet/train.py", "astronet/evaluate.py", "astronet/predict.py",
                "astronet/batch_predict.py", "astronet/find_incorrect.py",
                "astronet/data/generate_input_records.py", "flare_transformer/train.py",
                "flare_transformer/predict.py", "flare_transformer/evaluate.py")


def timed(args: list[str], env: dict, cwd: str) -> tuple[float, subprocess.CompletedProcess]:
  start = time.perf_counter()
  proc = subprocess.run([sys.executable] + args, env=env, cwd=cwd, capture_output=True,
                        text=True, check=False)
  return time.perf_counter() - start, proc


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--test_shard", default=str(
      ROOT.parent / "shared" / "fixtures" / "triage" / "tfrecords" / "test-00000-of-00001"))
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--output", default=str(ROOT / "bench" / "results" /
                                              "bench_processes.json"))
  args = parser.parse_args()
  shard = sorted(glob.glob(args.test_shard))
  if not shard:
    sys.exit("no test shard at {}".format(args.test_shard))
  results = {"records_file": shard[0]}
  with tempfile.TemporaryDirectory() as tmp:
    env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_CACHE_HOME=os.path.join(tmp, "cache"))
    common = ["--tfrecord_dir=" + os.path.dirname(shard[0]),
              "--tfrecord_pattern=" + os.path.basename(shard[0])]
    for name, label in (("triage", "1_model"), ("triage_ensemble", "10_models")):
      # Fill the ONNX cache (the one-time conversion), then time both backends.
      _, proc = timed([str(ROOT / "astronet" / "batch_predict.py"), "--pretrained=" + name,
                       "--backend=onnx", "--suffix=warm"] + common, env, tmp)
      if proc.returncode:
        sys.exit(proc.stderr[-2000:])
      for backend in ("tensorflow", "onnx"):
        times = []
        for _ in range(args.repeats):
          seconds, proc = timed([str(ROOT / "astronet" / "batch_predict.py"),
                                 "--pretrained=" + name, "--backend=" + backend,
                                 "--suffix={}_{}".format(label, backend)] + common, env, tmp)
          if proc.returncode:
            sys.exit(proc.stderr[-2000:])
          times.append(seconds)
        results["batch_predict_{}_{}_s".format(label, backend)] = min(times)
      same = (pathlib.Path(tmp, "prediction_{}_tensorflow.txt".format(label)).read_text() ==
              pathlib.Path(tmp, "prediction_{}_onnx.txt".format(label)).read_text())
      results["batch_predict_{}_identical_files".format(label)] = same
    help_s = {}
    for script in HELP_SCRIPTS:
      seconds, proc = timed(["-X", "importtime", str(ROOT / script), "--help"], env, tmp)
      imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}
      help_s[script] = {"seconds": seconds, "imports_tensorflow": "tensorflow" in imported}
    results["help"] = help_s
    results["help_max_s"] = max(h["seconds"] for h in help_s.values())
  results["batch_predict_1_model_vs_original"] = (
      ORIGINAL_BATCH_PREDICT_1_MODEL_S / results["batch_predict_1_model_onnx_s"])
  for label in ("1_model", "10_models"):
    print("batch_predict, {} on the test shard (whole process): tensorflow {:.2f} s, onnx "
          "{:.2f} s ({:.1f}x faster), identical files: {}".format(
              label.replace("_", " "), results["batch_predict_{}_tensorflow_s".format(label)],
              results["batch_predict_{}_onnx_s".format(label)],
              results["batch_predict_{}_tensorflow_s".format(label)] /
              results["batch_predict_{}_onnx_s".format(label)],
              results["batch_predict_{}_identical_files".format(label)]))
  print("  1 model vs the original's 7.1 s (issue #21): {:.1f}x".format(
      results["batch_predict_1_model_vs_original"]))
  print("--help: at most {:.2f} s; TensorFlow imported by: {}".format(
      results["help_max_s"], [s for s, h in results["help"].items() if h["imports_tensorflow"]]
      or "none"))
  bench_util.write_results(args.output, results)


if __name__ == "__main__":
  main()
