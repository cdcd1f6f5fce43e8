r"""Injection-recovery completeness of the whole-light-curve flare detector.

  python -m flare_transformer.injection_recovery --config=CONFIG --cv_dir=results/cv \
      --output_dir=results/recovery [--architectures=transformer,cnn]
  python -m flare_transformer.injection_recovery --config=CONFIG --pretrained=flare_transformer \
      --output_dir=results/recovery

Davenport (2014) template flares are injected over a grid of amplitude
(relative flux) x t_1/2 (minutes) into each star's real light curve, in quiet
stretches: away from gaps, from catalogued flares and from what the detector
already finds in the untouched light curve. Each grid cell puts
`per_light_curve` flares (at least 0.5 d apart) into one copy of the light
curve, `repeats` times with new times; `flare_transformer.detection.detect`
then runs on the whole copy, as on real data. An injected flare is recovered
when a detected interval covers its peak (± 1 min); its measured equivalent
duration (flare_transformer.characterize) over the injected one is the ED
bias.

With --cv_dir (a `flare_transformer.evaluate --cv` run), every star is
scored by the fold model that did not train on it; with --pretrained / --model,
one model scores every star (stars it trained on are flagged in the output).

Writes recovery.json (grid, per cell and star: injected / recovered, ED
ratios), completeness_<model>.json (recovered fraction vs injected ED, what
`flare_transformer.ffd --completeness` takes), recovery.md (tables) and
recovery_<model>.png (the recovered fraction per cell with a colour bar).
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
from absl import app
from absl import flags

from flare_transformer import characterize
from flare_transformer import data
from flare_transformer import detection
from flare_transformer import metrics
from tf_util import atomic_io
from tf_util import cli

AMPLITUDES = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)  # relative flux
T_HALF_MINUTES = (2.0, 5.0, 10.0, 20.0, 40.0)
MIN_SEPARATION_DAYS = 0.5
QUIET_MARGIN_DAYS = 0.1


@dataclasses.dataclass
class Grid:
  """Injection grid: amplitudes (relative flux) x t_half (minutes)."""
  amplitudes: tuple = AMPLITUDES
  t_half_minutes: tuple = T_HALF_MINUTES
  per_light_curve: int = 8
  repeats: int = 1
  seed: int = 0


def quiet_mask(lc: data.LightCurve, avoid_times, avoid_intervals) -> np.ndarray:
  """Cadences at least QUIET_MARGIN_DAYS from a gap (> 10 cadences), a catalogued peak or
  a detected interval, and from the ends."""
  time = lc.time
  ok = np.ones(len(time), bool)
  gaps = np.nonzero(np.diff(time) > 10 * data.CADENCE_DAYS)[0]
  edges = np.concatenate([[time[0]], time[gaps], time[gaps + 1], [time[-1]]])
  for t in np.concatenate([edges, np.asarray(avoid_times, np.float64)]):
    ok &= np.abs(time - t) > QUIET_MARGIN_DAYS
  for interval in avoid_intervals:
    ok &= (time < interval["start_time"] - QUIET_MARGIN_DAYS) | (
        time > interval["end_time"] + QUIET_MARGIN_DAYS)
  return ok & ~lc.quality


def draw_peaks(lc: data.LightCurve, quiet: np.ndarray, count: int, rng) -> np.ndarray:
  """Up to `count` peak times (BTJD) on quiet cadences, >= MIN_SEPARATION_DAYS apart."""
  candidates = lc.time[quiet]
  chosen: list[float] = []
  for t in rng.permutation(candidates):
    if all(abs(t - c) >= MIN_SEPARATION_DAYS for c in chosen):
      chosen.append(float(t))
      if len(chosen) == count:
        break
  return np.sort(np.asarray(chosen))


def inject(lc: data.LightCurve, peaks, t_half_days: float, amplitude: float) -> data.LightCurve:
  """A copy of `lc` with Davenport flares added at `peaks` (relative flux)."""
  flux = lc.flux.copy()
  for peak in peaks:
    near = np.abs(lc.time - peak) < 20 * t_half_days + 2 * data.CADENCE_DAYS
    flux[near] += data.flare_model(lc.time[near], peak, t_half_days, amplitude)
  return dataclasses.replace(lc, flux=flux)


def recover(lc: data.LightCurve, intervals: list[dict], peaks) -> list[dict]:
  """Per injected peak: recovered?, and the measured ED of the interval covering it."""
  out = []
  for peak in peaks:
    hit = next((i for i in intervals if i["start_time"] - metrics.HALF_CADENCE <= peak <=
                i["end_time"] + metrics.HALF_CADENCE), None)
    measured = characterize.characterize(lc, hit)["ed_s"] if hit is not None else float("nan")
    out.append({"recovered": hit is not None, "measured_ed_s": float(measured)})
  return out


def star_recovery(model, lc: data.LightCurve, catalog_peaks, grid: Grid,
                  stride: int = 10) -> dict:
  """{(i_amplitude, i_t_half): {"injected", "recovered", "ed_ratio": [...]}} of one star."""
  _, found = detection.detect(model, lc, 0.5, stride)
  quiet = quiet_mask(lc, catalog_peaks, found)
  rng = np.random.default_rng([grid.seed, lc.tic])
  cells = {}
  for i, amplitude in enumerate(grid.amplitudes):
    for j, minutes in enumerate(grid.t_half_minutes):
      t_half = minutes / 1440.0
      injected_ed = data.equivalent_duration(t_half, amplitude)
      cell = {"injected": 0, "recovered": 0, "ed_ratio": []}
      for _ in range(grid.repeats):
        peaks = draw_peaks(lc, quiet, grid.per_light_curve, rng)
        copy_lc = inject(lc, peaks, t_half, amplitude)
        _, intervals = detection.detect(model, copy_lc, 0.5, stride)
        for result in recover(copy_lc, intervals, peaks):
          cell["injected"] += 1
          cell["recovered"] += int(result["recovered"])
          if result["recovered"] and np.isfinite(result["measured_ed_s"]):
            cell["ed_ratio"].append(result["measured_ed_s"] / injected_ed)
      cells["{},{}".format(i, j)] = cell
  return cells


def combine(per_star: dict, grid: Grid) -> dict:
  """Pooled over stars: recovered fraction and median ED ratio per cell [amplitude, t_half],
  and the completeness vs injected ED (ffd --completeness)."""
  shape = (len(grid.amplitudes), len(grid.t_half_minutes))
  injected, recovered = np.zeros(shape, int), np.zeros(shape, int)
  ratio = np.full(shape, np.nan)
  ed = np.zeros(shape)
  for i, amplitude in enumerate(grid.amplitudes):
    for j, minutes in enumerate(grid.t_half_minutes):
      key = "{},{}".format(i, j)
      cells = [cells[key] for cells in per_star.values()]
      injected[i, j] = sum(c["injected"] for c in cells)
      recovered[i, j] = sum(c["recovered"] for c in cells)
      ratios = [r for c in cells for r in c["ed_ratio"]]
      ratio[i, j] = float(np.median(ratios)) if ratios else np.nan
      ed[i, j] = data.equivalent_duration(minutes / 1440.0, amplitude)
  fraction = np.where(injected > 0, recovered / np.maximum(injected, 1), np.nan)
  order = np.argsort(ed.ravel())
  return {"injected": injected.tolist(), "recovered": recovered.tolist(),
          "fraction": fraction.tolist(), "median_ed_ratio": ratio.tolist(),
          "injected_ed_s": ed.tolist(),
          "completeness": {"ed_s": ed.ravel()[order].tolist(),
                           "recovery": np.nan_to_num(fraction.ravel()[order]).tolist()}}


def plot(summary: dict, grid: Grid, title: str, path: str) -> None:
  """Recovered fraction per cell (amplitude rows, t_half columns) with a colour bar."""
  from astronet import plotting  # noqa: PLC0415  (matplotlib)
  fraction = np.asarray(summary["fraction"], np.float64)
  fig, ax = plotting.plt.subplots(figsize=(7, 5))
  image = ax.imshow(fraction, origin="lower", cmap="viridis", vmin=0, vmax=1, aspect="auto")
  for i in range(fraction.shape[0]):
    for j in range(fraction.shape[1]):
      ratio = summary["median_ed_ratio"][i][j]
      text = "{:.2f}".format(fraction[i, j]) + (
          "\nED {:.2f}".format(ratio) if ratio is not None and np.isfinite(ratio) else "")
      ax.text(j, i, text, ha="center", va="center", fontsize=7,
              color="white" if fraction[i, j] < 0.6 else "black")
  ax.set_xticks(range(len(grid.t_half_minutes)), ["{:g}".format(m) for m in grid.t_half_minutes])
  ax.set_yticks(range(len(grid.amplitudes)), ["{:g}".format(a) for a in grid.amplitudes])
  ax.set_xlabel("injected t½ (minutes)")
  ax.set_ylabel("injected amplitude (relative flux)")
  ax.set_title(title)
  fig.colorbar(image, ax=ax, label="recovered fraction")
  fig.tight_layout()
  plotting.save_figure(fig, path)


def markdown(results: dict, grid: Grid) -> str:
  lines = []
  for name, result in results["models"].items():
    s = result["summary"]
    lines += ["### {} ({})".format(name, result["scored_by"]), "",
              "Recovered fraction (median measured / injected ED) per cell; rows amplitude "
              "(relative flux), columns t½ (minutes); {} flares per cell over {} stars:".format(
                  int(np.sum(s["injected"]) / max(1, len(grid.amplitudes) *
                                                   len(grid.t_half_minutes))),
                  len(result["stars"])), "",
              "| amplitude \\ t½ | " + " | ".join("{:g}".format(m)
                                                  for m in grid.t_half_minutes) + " |",
              "|---|" + "---|" * len(grid.t_half_minutes)]
    for i, amplitude in enumerate(grid.amplitudes):
      cells = []
      for j in range(len(grid.t_half_minutes)):
        ratio = s["median_ed_ratio"][i][j]
        cells.append("{:.2f} ({})".format(s["fraction"][i][j], "{:.2f}".format(ratio) if (
            ratio is not None and np.isfinite(ratio)) else "-"))
      lines.append("| {:g} | {} |".format(amplitude, " | ".join(cells)))
    lines.append("")
  return "\n".join(lines)


def run(config: dict, models: dict, output_dir: str, grid: Grid | None = None,
        event_catalog: str | None = None, stride: int = 10) -> dict:
  """models: {name: {"by_star": {tic: keras model}, "scored_by": text}}; writes the outputs.

  A star already done for a model (output_dir/stars/<name>_<tic>.json) is reused.
  """
  grid = grid or Grid()
  # Injections keep away from every catalogued flare: the config's catalogues and the
  # event catalogue (by default the config's first).
  catalogs = list(config["data"]["catalogs"])
  if event_catalog and event_catalog not in catalogs:
    catalogs.append(event_catalog)
  merged = data.merge_catalogs(*[data.read_catalog(c) for c in catalogs])
  curves = data.light_curves(config["data"])
  os.makedirs(os.path.join(output_dir, "stars"), exist_ok=True)
  results = {"grid": dataclasses.asdict(grid), "models": {}}
  for name, spec in models.items():
    per_star = {}
    for tic, model in sorted(spec["by_star"].items()):
      if tic not in curves:
        continue
      star_path = os.path.join(output_dir, "stars", "{}_{}.json".format(name, tic))
      if os.path.exists(star_path):
        with open(star_path) as f:
          per_star[tic] = json.load(f)
        continue
      per_star[tic] = star_recovery(model, curves[tic],
                                    merged.get(tic, {}).get("tpeak", np.zeros(0)), grid, stride)
      atomic_io.write_json(star_path, per_star[tic])
    summary = combine(per_star, grid)
    results["models"][name] = {"scored_by": spec["scored_by"], "stars": sorted(per_star),
                               "summary": summary, "per_star": {str(t): c for t, c in
                                                                per_star.items()}}
    plot(summary, grid, "{}: injection-recovery ({} stars)".format(name, len(per_star)),
         os.path.join(output_dir, "recovery_{}.png".format(name)))
  atomic_io.write_json(os.path.join(output_dir, "recovery.json"), results)
  with atomic_io.atomic_open(os.path.join(output_dir, "recovery.md")) as f:
    f.write(markdown(results, grid))
  return results


def cv_models(cv_dir: str, architectures) -> dict:
  """{architecture: {"by_star": {tic: its fold's model}}} of a --cv run directory."""
  from flare_transformer import model as model_lib  # noqa: PLC0415  (Keras)
  out = {}
  for architecture in architectures:
    by_star = {}
    fold = 0
    while os.path.isdir(os.path.join(cv_dir, "fold_{}".format(fold))):
      run_dir = os.path.join(cv_dir, "fold_{}".format(fold), architecture)
      scores = os.path.join(run_dir, "scores.json")
      if os.path.exists(scores):
        with open(scores) as f:
          test_tics = json.load(f)["test_tics"]
        model = model_lib.load_model(detection.resolve_model_path(run_dir))
        by_star.update({int(t): model for t in test_tics})
      fold += 1
    out[architecture] = {"by_star": by_star,
                         "scored_by": "each star by the CV fold model that did not train on it"}
  return out


def single_model(name: str, model, tics, trained_on=()) -> dict:
  return {name: {"by_star": {int(t): model for t in tics},
                 "scored_by": "one model for every star{}".format(
                     " (trained on {})".format(", ".join(str(t) for t in sorted(trained_on)))
                     if trained_on else "")}}



def define_flags() -> None:
  flags.DEFINE_string("config", None, "YAML configuration (data section: stars, catalogues).")
  flags.DEFINE_string("cv_dir", None, "A `flare_transformer.evaluate --cv` run: each star is "
                      "scored by the fold model that did not train on it.")
  flags.DEFINE_list("architectures", ["transformer", "cnn"], "With --cv_dir: the models.")
  flags.DEFINE_list("pretrained", [], "Shipped flare models instead, by name.")
  flags.DEFINE_string("model", None, "A .keras flare model (or run directory) instead.")
  flags.DEFINE_string("output_dir", None, "Where recovery.json / .md / .png go.")
  flags.DEFINE_integer("per_light_curve", 8, "Flares injected per light-curve copy.",
                       lower_bound=1)
  flags.DEFINE_integer("repeats", 1, "Copies per grid cell and star.", lower_bound=1)
  flags.DEFINE_integer("seed", 0, "Seed of the injection times.")
  flags.mark_flags_as_required(["config", "output_dir"])


def main(argv):
  del argv
  from flare_transformer import config as config_lib  # noqa: PLC0415
  f = flags.FLAGS
  if sum(bool(x) for x in (f.cv_dir, f.pretrained, f.model)) != 1:
    raise app.UsageError("Give exactly one of --cv_dir, --pretrained and --model")
  if f.cv_dir and not os.path.isdir(f.cv_dir):
    raise app.UsageError("--cv_dir {} is not a directory".format(f.cv_dir))
  config = config_lib.load_config(f.config)
  atomic_io.check_writable(os.path.dirname(os.path.abspath(f.output_dir)))
  grid = Grid(per_light_curve=f.per_light_curve, repeats=f.repeats, seed=f.seed)
  if f.cv_dir:
    models = cv_models(f.cv_dir, f.architectures)
  else:
    from astronet import pretrained  # noqa: PLC0415
    from flare_transformer import model as model_lib  # noqa: PLC0415  (Keras)
    tics = sorted(data.light_curves(config["data"]))
    models = {}
    for name in f.pretrained:
      card = pretrained.card(name)
      trained = card.get("training", {}).get("windows", {}).get("train", {}).get("stars", [])
      models.update(single_model(name, model_lib.load_model(
          pretrained.model_files(name, "flare_transformer")[0]), tics, trained))
    if f.model:
      models.update(single_model("model", model_lib.load_model(
          detection.resolve_model_path(f.model)), tics))
  results = run(config, models, f.output_dir, grid)
  for name, result in results["models"].items():
    atomic_io.write_json(os.path.join(f.output_dir, "completeness_{}.json".format(name)),
                         result["summary"]["completeness"])
  print(markdown(results, grid))
  return 0


if __name__ == "__main__":
  cli.run(main, define_flags, tensorflow=True)
