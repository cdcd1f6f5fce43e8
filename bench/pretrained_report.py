"""Writes bench/results/pretrained.md from the shipped models' cards (no training).

  python bench/pretrained_report.py

One row per registered name: family, task, size, val and test metrics from its
card (train on train, select on val, report test), and how it was trained.
"""

from __future__ import annotations

import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from astronet import pretrained  # noqa: E402  pylint: disable=g-import-not-at-top

METRICS = ("accuracy", "auc", "precision", "recall", "average_precision")


def _cell(metrics: dict, key: str) -> str:
  value = (metrics or {}).get(key)
  return "{:.4f}".format(value) if isinstance(value, float) else "-"


def report() -> str:
  lines = ["# Shipped models", "",
           "Written by `python bench/pretrained_report.py` from each model's card "
           "(`python -m astronet.pretrained card NAME`). Astronet models: trained on the real "
           "Triage train shards, evaluated on `val-00000-of-00001` and, once, on "
           "`test-00000-of-00001`; no choice was made on the test shard.", "",
           "| name | task | MB | val AUC | val acc | test " + " | test ".join(METRICS) + " |",
           "|---|---|---|---|---|" + "---|" * len(METRICS)]
  for name, entry in sorted(pretrained.entries().items()):
    if entry.unavailable:
      lines.append("| `{}` | {} | - | unavailable: {} |".format(
          name, entry.task, entry.unavailable.split(";")[0]) + " |" * (len(METRICS) + 2))
      continue
    card = pretrained.card(name)
    size = sum(os.path.getsize(os.path.join(pretrained.PACKAGES_ROOT, entry.folder, f))
               for f in entry.files) / 1e6
    val, test = card.get("val_metrics") or {}, card.get("test_metrics") or {}
    lines.append("| `{}` | {} | {:.1f} | {} | {} | {} |".format(
        name, entry.task, size, _cell(val, "auc"), _cell(val, "accuracy"),
        " | ".join(_cell(test, k) for k in METRICS)))
  lines += ["", "Training of the Astronet members (from their training.json):", ""]
  for name, entry in sorted(pretrained.entries().items()):
    if entry.unavailable or entry.family != "astronet":
      continue
    card = pretrained.card(name)
    for member in card.get("members", []):
      runs = [r for r in (member.get("training") or []) if r.get("end_step", 0) >
              r.get("start_step", 0)]
      for run in runs:
        lines.append("- `{}` {}: seed {}, steps {}–{}, {:.0f} s, {}".format(
            name, os.path.basename(member.get("source", "")), run.get("seed"),
            run.get("start_step"), run.get("end_step"), run.get("wall_s") or 0,
            card.get("training_command", "")[:80]))
  lines += _flare_section()
  return "\n".join(lines) + "\n"


def _flare_section() -> list[str]:
  """Window metrics on the validation / test star and event recall per real star."""
  names = [n for n, e in sorted(pretrained.entries().items())
           if e.family == "flare_transformer" and not e.unavailable]
  if not names:
    return []
  lines = ["", "## Flare models", "",
           "Trained with the thesis config on the 10 real TESS stars of "
           "`../shared/fixtures/flares/tess` (8 train, 1 validation, 1 test star, split by star "
           "with seed 42) plus injected Davenport flares; the epoch with the best window F1 on "
           "the validation star ships. Windows: 100 cadences; threshold 0.5.", "",
           "| name | parameters | epochs (best) | train s | val F1 | val AUC | test F1 | "
           "test precision | test recall | test AUC |", "|---|---|---|---|---|---|---|---|---|---|"]
  cards = {n: pretrained.card(n) for n in names}
  for name, card in cards.items():
    val, test, training = card["val_metrics"], card["test_metrics"], card["training"]
    lines.append("| `{}` | {:,} | {} ({}) | {:.0f} | {} | {} | {} | {} | {} | {} |".format(
        name, card["parameters"], training["epochs_run"], training["best_epoch"],
        training["wall_seconds"] or 0, _cell(val, "f1"), _cell(val, "roc_auc"),
        _cell(test, "f1"), _cell(test, "precision"), _cell(test, "recall"),
        _cell(test, "roc_auc")))
  tics = sorted({t for card in cards.values() for t in card["events_per_star"]})
  splits = {t: next(c["events_per_star"][t]["split"] for c in cards.values()
                    if t in c["events_per_star"]) for t in tics}
  lines += ["", "Event level on the real stars with catalogued flares and the held-out stars "
            "(Günther 2020 peaks recovered / detections matching no catalogued flare; "
            "whole-light-curve prediction, stride 10):", "",
            "| name | " + " | ".join("TIC {} ({})".format(t, splits[t]) for t in tics) + " |",
            "|---|" + "---|" * len(tics)]
  for name, card in cards.items():
    events = card["events_per_star"]
    lines.append("| `{}` | {} |".format(name, " | ".join(
        "{}/{} found, {} false".format(events[t]["recovered"], events[t]["catalog_flares"],
                                       events[t]["false_or_uncatalogued"]) if t in events
        else "-" for t in tics)))
  return lines


if __name__ == "__main__":
  text = report()
  (ROOT / "bench" / "results" / "pretrained.md").write_text(text)
  print(text)
