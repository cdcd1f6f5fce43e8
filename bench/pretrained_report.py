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
  return "\n".join(lines) + "\n"


if __name__ == "__main__":
  text = report()
  (ROOT / "bench" / "results" / "pretrained.md").write_text(text)
  print(text)
