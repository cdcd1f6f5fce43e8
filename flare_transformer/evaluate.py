r"""Compares the flare transformer, the CNN baseline and stella's released ensemble.

  python -m flare_transformer.evaluate --config=CONFIG --transformer=RUN_DIR --cnn=RUN_DIR \
      [--stella=final_models.zip] [--event_catalog=guenther.csv] [--output_md=flares.md]
  python -m flare_transformer.evaluate --config=CONFIG --pretrained=flare_transformer,flare_cnn
  python -m flare_transformer.evaluate --config=CONFIG --cv=5 --cv_dir=results/cv \
      [--stella=final_models.zip] [--output_md=cv.md]     # grouped CV by star (resumable)

Window level (the held-out test split of the config's processed windows):
F1, precision, recall, ROC-AUC at threshold 0.5; the same on the real
(not injected) test windows only, where stella can be scored too (a window's
stella probability = the highest of its cadences, stella's own 200-cadence
windowing on SAP flux); recall on low-energy flares (equivalent duration in the
lowest third of the test split's flare windows) and on the rest; F1 on the
windows holding several flares together with all flare-free windows.

Event level (per real star of the held-out val / test splits, and of every
star with catalogued flares, flagged when it was a training star): intervals
from per-cadence probabilities (flare_transformer.predict; stella: its
per-cadence centre-window probabilities), matched against the catalogue's
peak times (metrics.event_metrics).
"""

from __future__ import annotations

from absl import app
from absl import flags

from flare_transformer import config as config_lib
from tf_util import atomic_io
from tf_util import cli


def define_flags() -> None:
  flags.DEFINE_string("config", config_lib.DEFAULT_PATH, "YAML configuration (data section).")
  flags.DEFINE_string("transformer", None, "Transformer run directory or .keras model.")
  flags.DEFINE_string("cnn", None, "CNN-baseline run directory or .keras model.")
  flags.DEFINE_list("pretrained", [], "Flare models shipped with the project, by name "
                    "(e.g. flare_transformer,flare_cnn; `python -m astronet.pretrained list`), "
                    "scored beside --transformer / --cnn.")
  flags.DEFINE_string("stella", None, "stella's final_models.zip (or its folder); optional.")
  flags.DEFINE_string("event_catalog", None, "Catalogue for event-level scores (default: the "
                      "config's first).")
  flags.DEFINE_integer("cv", None, "Grouped K-fold cross-validation by star instead: trains "
                       "the transformer and the CNN baseline on each fold into --cv_dir "
                       "(resumable), scores them (and --stella) on every star once, with "
                       "bootstrap 95 %% intervals over stars.", lower_bound=2)
  flags.DEFINE_string("cv_dir", "results/cv", "Run directories of the --cv folds.")
  flags.DEFINE_integer("num_bootstrap", 1000, "Bootstrap draws (over stars) for --cv.",
                       lower_bound=10)
  flags.DEFINE_string("output_json", None, "Where the full results go.")
  flags.DEFINE_string("output_md", None, "Where the Markdown tables go.")


def main(argv):
  del argv
  f = flags.FLAGS
  config = config_lib.load_config(f.config)
  models = {k: v for k, v in (("transformer", f.transformer), ("cnn", f.cnn)) if v}
  if f.cv:
    if models or f.pretrained:
      raise app.UsageError("--cv trains its own fold models: give no --transformer, --cnn "
                           "or --pretrained")
    from flare_transformer import cross_validation  # pylint: disable=import-outside-toplevel
    results = cross_validation.cross_validate(config, f.cv, f.cv_dir, f.stella,
                                              f.event_catalog, f.num_bootstrap)
    _write(results, results["markdown"], f.output_json, f.output_md)
    return
  if not models and not f.pretrained and not f.stella:
    raise app.UsageError("give --transformer, --cnn and/or --pretrained (and optionally "
                         "--stella)")
  # pylint: disable=import-outside-toplevel
  from astronet import pretrained
  from flare_transformer import evaluation
  for name in f.pretrained:
    models[name] = pretrained.model_files(name, "flare_transformer")[0]
  results = evaluation.evaluate(config, models, f.stella, f.event_catalog)
  _write(results, evaluation.markdown(results), f.output_json, f.output_md)


def _write(results: dict, text: str, output_json: str | None, output_md: str | None) -> None:
  print(text)
  if output_json:
    atomic_io.write_json(output_json, results, default=str)
  if output_md:
    with atomic_io.atomic_open(output_md) as out:
      out.write(text)


if __name__ == "__main__":
  cli.run(main, define_flags, tensorflow=True)
