r"""Flare frequency distributions: cumulative rate above an energy (or ED), power-law fit.

  python -m flare_transformer.ffd --flares=flares.csv [--flares=other.csv] \
      [--quantity=energy_erg|ed_s] [--completeness=recovery.json] \
      [--output_png=ffd.png] [--output_json=ffd.json]

Each CSV is `flare_transformer.predict`'s output with its JSON sidecar (the
observed, unflagged days of the light curve). Per star (TIC), the cumulative
frequency nu(>x) = (number of flares with quantity >= x) / observed days, each
flare weighted 1 / completeness(x) when an injection-recovery table is given
({"ed_s": [...], "recovery": [...]}: recovered fraction vs ED). The power-law
index alpha of dN/dx ∝ x^-alpha is the maximum-likelihood estimate above x_min
(Clauset et al. 2009): alpha = 1 + n / sum ln(x_i / x_min), sigma = (alpha - 1) / sqrt(n),
x_min the smallest flare unless --x_min is given.
"""

from __future__ import annotations

import csv
import json
import os

import numpy as np
from absl import app
from absl import flags

from tf_util import cli
from tf_util import errors

QUANTITIES = ("energy_erg", "ed_s")


def read_flares(csv_path: str, quantity: str) -> dict:
  """{"tic", "observed_days", "values"} of one predict CSV and its sidecar.

  Raises:
    FileProblemError: No CSV or sidecar; CatalogError: no such column.
  """
  from flare_transformer import detection  # noqa: PLC0415  (detection loads Keras helpers)
  sidecar = detection.sidecar_path(csv_path)
  for path in (csv_path, sidecar):
    if not os.path.isfile(path):
      raise errors.FileProblemError("{} does not exist (predict writes the CSV and its "
                                    "JSON sidecar)".format(path), path)
  with open(sidecar) as f:
    meta = json.load(f)
  with open(csv_path) as f:
    rows = list(csv.DictReader(f))
  if rows and quantity not in rows[0]:
    raise errors.CatalogError("{} has no {} column (columns: {})".format(
        csv_path, quantity, ", ".join(rows[0])))
  values = np.array([float(r[quantity]) for r in rows], np.float64)
  return {"tic": meta.get("tic"), "observed_days": float(meta["observed_days"]),
          "values": values[np.isfinite(values) & (values > 0)]}


def power_law_fit(values: np.ndarray, x_min: float | None = None) -> dict:
  """Maximum-likelihood power-law index of values >= x_min: {"alpha", "alpha_err", "n",
  "x_min"} (NaN with fewer than 2 values)."""
  values = np.sort(np.asarray(values, np.float64))
  x_min = float(values[0]) if x_min is None and len(values) else x_min
  tail = values[values >= x_min] if len(values) else values
  n = len(tail)
  if n < 2 or not np.sum(np.log(tail / x_min)) > 0:
    return {"alpha": float("nan"), "alpha_err": float("nan"), "n": n, "x_min": x_min}
  alpha = 1 + n / np.sum(np.log(tail / x_min))
  return {"alpha": float(alpha), "alpha_err": float((alpha - 1) / np.sqrt(n)), "n": n,
          "x_min": x_min}


def cumulative_frequency(values: np.ndarray, observed_days: float,
                         completeness: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
  """(x sorted descending, nu(>= x) per day), each flare weighted by 1 / recovery."""
  x = np.sort(np.asarray(values, np.float64))[::-1]
  weights = np.ones_like(x)
  if completeness:
    recovery = np.interp(x, completeness["ed_s"], completeness["recovery"])
    weights = 1.0 / np.clip(recovery, 0.05, 1.0)
  return x, np.cumsum(weights) / observed_days


def ffd(stars: list[dict], completeness: dict | None = None, x_min: float | None = None) -> dict:
  """{tic: {"x", "rate", "fit", "observed_days"}} for the stars' flares."""
  out = {}
  for star in stars:
    key = str(star["tic"])
    if key in out:  # Several sectors of one star: their flares and observed time add.
      merged = np.concatenate([out[key]["values"], star["values"]])
      days = out[key]["observed_days"] + star["observed_days"]
    else:
      merged, days = star["values"], star["observed_days"]
    x, rate = cumulative_frequency(merged, days, completeness)
    out[key] = {"values": merged, "observed_days": days, "x": x, "rate": rate,
                "fit": power_law_fit(merged, x_min)}
  return out


def fit_line(star: dict, num_points: int = 50) -> tuple[np.ndarray, np.ndarray]:
  """(x, nu(>= x)) of a star's power-law fit, from its x_min to its largest flare.

  The line starts at the plotted cumulative rate at x_min — the
  completeness-weighted one when the rates were corrected — so that it lies
  on the FFD it was fitted to: nu(>= x) = nu(>= x_min) (x / x_min)^(1 - alpha).
  """
  fit = star["fit"]
  grid = np.geomspace(fit["x_min"], star["x"].max(), num_points)
  at_x_min = star["rate"][star["x"] >= fit["x_min"]][-1]  # x descending, rate cumulative
  return grid, at_x_min * (grid / fit["x_min"]) ** (1 - fit["alpha"])


def plot(result: dict, quantity: str, path: str) -> None:
  from astronet import plotting  # noqa: PLC0415  (matplotlib)
  fig, ax = plotting.plt.subplots(figsize=(7, 5))
  for tic, star in result.items():
    if not len(star["x"]):
      continue
    fit = star["fit"]
    label = "TIC {} ({} flares{})".format(tic, len(star["x"]), ", α = {:.2f} ± {:.2f}".format(
        fit["alpha"], fit["alpha_err"]) if np.isfinite(fit["alpha"]) else "")
    line, = ax.step(star["x"], star["rate"], where="post", label=label)
    if np.isfinite(fit["alpha"]):
      ax.plot(*fit_line(star), "--", color=line.get_color(), alpha=0.7)
  ax.set(xscale="log", yscale="log", ylabel="cumulative rate ν(≥ x) per day",
         xlabel={"energy_erg": "flare energy, TESS band (erg)",
                 "ed_s": "equivalent duration (s)"}[quantity],
         title="flare frequency distribution")
  ax.legend(fontsize=8)
  fig.tight_layout()
  plotting.save_figure(fig, path)


def define_flags() -> None:
  flags.DEFINE_multi_string("flares", None, "flare_transformer.predict CSV(s) (with sidecars).")
  flags.DEFINE_enum("quantity", "energy_erg", list(QUANTITIES), "What the FFD is of.")
  flags.DEFINE_string("completeness", None, "Optional injection-recovery JSON "
                      "({\"ed_s\": [...], \"recovery\": [...]}) to correct the rates.")
  flags.DEFINE_float("x_min", None, "Lower bound of the power-law fit (default: smallest).")
  flags.DEFINE_string("output_png", "ffd.png", "The figure.")
  flags.DEFINE_string("output_json", None, "Optional JSON of the FFDs and fits.")
  flags.mark_flags_as_required(["flares"])


def main(argv):
  del argv
  f = flags.FLAGS
  if not f.output_png.endswith((".png", ".pdf")):
    raise app.UsageError("--output_png must end in .png or .pdf")
  completeness = None
  if f.completeness:
    with open(f.completeness) as handle:
      completeness = json.load(handle)
  stars = [read_flares(path, f.quantity) for path in f.flares]
  result = ffd(stars, completeness, f.x_min)
  plot(result, f.quantity, f.output_png)
  summary = {tic: {"flares": int(len(s["x"])), "observed_days": s["observed_days"], **s["fit"]}
             for tic, s in result.items()}
  if f.output_json:
    from tf_util import atomic_io  # noqa: PLC0415
    atomic_io.write_json(f.output_json, {"quantity": f.quantity, "stars": summary})
  for tic, s in summary.items():
    print("TIC {}: {} flares in {:.2f} d, alpha = {:.3f} ± {:.3f} (x_min {:.3g})".format(
        tic, s["flares"], s["observed_days"], s["alpha"], s["alpha_err"], s["x_min"] or 0))
  return 0


if __name__ == "__main__":
  cli.run(main, define_flags)
