"""Flare characterisation (amplitude, FWHM, ED, template fit, energy) and FFDs."""

import csv
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from flare_transformer import characterize
from flare_transformer import data
from flare_transformer import detection
from flare_transformer import ffd

ROOT = pathlib.Path(__file__).resolve().parent.parent
TESS_FITS = ROOT / "tests" / "data" / "tess" / "tess2018349182459-s0006-0000000219423316-0126-s_lc.fits"


def test_tess_band_luminosity_of_the_sun_and_an_m_dwarf():
  sun = characterize.tess_band_luminosity(5772, 1.0)
  assert 0.2 * 3.828e33 < sun < 0.5 * 3.828e33  # the TESS band holds ~1/3 of the Sun's light
  m_dwarf = characterize.tess_band_luminosity(3200, 0.3)
  assert m_dwarf < 0.01 * sun


def test_an_injected_davenport_flare_is_measured(tmp_path):
  real = data.read_light_curve(str(TESS_FITS))
  # The real cadences, flags and noise level, on a flat star (this one is a variable F
  # star, whose own variability is not what is measured here).
  rng = np.random.default_rng(1)
  lc = data.LightCurve(real.tic, real.sector, real.time, rng.normal(0, real.noise,
                                                                    len(real.time)),
                       real.quality, real.noise, real.path)
  t_peak = float(lc.time[len(lc.time) // 3]) + 0.3 * characterize.MINUTE
  t_half, amplitude = 12 * characterize.MINUTE, 40 * lc.noise
  lc.flux = lc.flux + data.flare_model(lc.time, t_peak, t_half, amplitude)
  interval = {"start_time": t_peak - 2 * t_half, "end_time": t_peak + 25 * t_half,
              "peak_time": t_peak, "max_probability": 0.9}
  stellar = characterize.stellar_parameters(str(TESS_FITS))
  measured = characterize.characterize(lc, interval, stellar["teff"], stellar["radius"])
  # The brightest 2-min cadence is below the template's instantaneous peak; the fit is not.
  assert 0.6 * amplitude < measured["amplitude"] < 1.05 * amplitude
  assert measured["fwhm_min"] == pytest.approx(12, rel=0.35)
  assert measured["ed_s"] == pytest.approx(data.equivalent_duration(t_half, amplitude), rel=0.2)
  assert measured["fit_t_half_min"] == pytest.approx(12, rel=0.2)
  assert measured["fit_amplitude"] == pytest.approx(amplitude, rel=0.15)
  assert abs(measured["fit_t_peak"] - t_peak) < 2 * characterize.MINUTE
  assert measured["fit_reduced_chi2"] < 5
  assert stellar["teff"] and stellar["radius"]
  assert measured["energy_erg"] == pytest.approx(
      measured["ed_s"] * characterize.tess_band_luminosity(stellar["teff"], stellar["radius"]))
  assert 1e31 < measured["energy_erg"] < 1e37 and measured["energy_note"] == ""
  unknown = characterize.characterize(lc, interval)
  assert np.isnan(unknown["energy_erg"]) and "TEFF" in unknown["energy_note"]
  # The CSV keeps its four columns first and gains the measurements; the sidecar has units.
  path = tmp_path / "flares.csv"
  detection.write_csv([measured], str(path))
  header = open(path).readline().strip().split(",")
  assert header[:4] == list(detection.CSV_COLUMNS) and "ed_s" in header
  detection.write_sidecar(str(path), lc, characterize.UNITS)
  sidecar = json.load(open(tmp_path / "flares.json"))
  assert sidecar["units"]["ed_s"].startswith("seconds") and 15 < sidecar["observed_days"] < 25


def test_power_law_index_is_recovered():
  rng = np.random.default_rng(3)
  alpha, x_min = 2.0, 10.0
  sample = x_min * (1 - rng.random(3000)) ** (-1 / (alpha - 1))  # dN/dx ∝ x^-2
  fit = ffd.power_law_fit(sample, x_min)
  assert abs(fit["alpha"] - alpha) < 3 * fit["alpha_err"] and fit["alpha_err"] < 0.03
  x, rate = ffd.cumulative_frequency(sample, 10.0)
  assert rate[-1] == pytest.approx(300.0) and np.all(np.diff(x) <= 0)
  x, corrected = ffd.cumulative_frequency(sample, 10.0, {"ed_s": [0, 1e9], "recovery": [0.5, 0.5]})
  assert corrected[-1] == pytest.approx(600.0)
  assert np.isnan(ffd.power_law_fit(np.array([5.0]))["alpha"])


def test_ffd_fit_line_lies_on_the_corrected_rates():
  """The plotted power law starts at the plotted (completeness-weighted) rate at
  x_min, and follows the corrected FFD of a power-law sample."""
  rng = np.random.default_rng(4)
  sample = 10.0 * (1 - rng.random(2000)) ** (-1 / (2.0 - 1))
  star = {"tic": 1, "observed_days": 20.0, "values": sample}
  completeness = {"ed_s": [0, 1e9], "recovery": [0.25, 0.25]}
  result = ffd.ffd([star], completeness, x_min=30.0)["1"]
  x, line = ffd.fit_line(result)
  plotted_at_x_min = result["rate"][result["x"] >= 30.0][-1]
  assert line[0] == pytest.approx(plotted_at_x_min)
  # Four times the uncorrected count rate (recovery 0.25) above x_min.
  assert line[0] == pytest.approx(4 * np.sum(sample >= 30.0) / 20.0)
  # Along the sample, the line tracks the corrected rate within its noise.
  middle = np.interp(100.0, x, line)
  observed = result["rate"][result["x"] >= 100.0][-1]
  assert abs(middle - observed) / observed < 0.25


def test_ffd_cli_from_predict_outputs(tmp_path):
  rng = np.random.default_rng(0)
  path = tmp_path / "flares.csv"
  with open(path, "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(list(detection.CSV_COLUMNS) + ["ed_s", "energy_erg"])
    for ed in 5 * (1 - rng.random(40)) ** -1.0:
      writer.writerow([1.0, 1.1, 1.05, 0.9, ed, ed * 1e31])
  json.dump({"units": characterize.UNITS, "tic": 441420236, "sector": 1,
             "observed_days": 20.0}, open(tmp_path / "flares.json", "w"))
  env = dict(os.environ, PYTHONPATH=str(ROOT))
  proc = subprocess.run([sys.executable, "-m", "flare_transformer.ffd", "--flares=" + str(path),
                         "--output_png=" + str(tmp_path / "ffd.png"),
                         "--output_json=" + str(tmp_path / "ffd.json")],
                        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
  assert proc.returncode == 0, proc.stderr
  assert "TIC 441420236: 40 flares in 20.00 d, alpha =" in proc.stdout
  assert (tmp_path / "ffd.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  assert json.load(open(tmp_path / "ffd.json"))["stars"]["441420236"]["flares"] == 40
  (tmp_path / "flares.json").unlink()
  proc = subprocess.run([sys.executable, "-m", "flare_transformer.ffd", "--flares=" + str(path)],
                        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
  assert proc.returncode == 2 and "flares.json does not exist" in proc.stderr


def test_catalogued_au_mic_flares_are_measured_as_guenther_2020(shared_fixtures):
  """The 46 Günther et al. (2020) flares of AU Mic (sector 1): amplitude and FWHM as
  catalogued, from intervals around the catalogued peaks."""
  tess = shared_fixtures / "flares" / "tess"
  catalog = data.read_catalog(str(tess / "catalog" / "guenther2020_flares_fixtures.csv"))
  lc = data.read_light_curve(str(tess / "tess2018206045859-s0001-0000000441420236-0120-s_lc.fits"))
  flares = catalog[441420236]
  ratios, widths, energies = [], [], []
  for t_peak, amplitude, fwhm in zip(flares["tpeak"], flares["amplitude"], flares["fwhm"]):
    interval = {"start_time": t_peak - 3 * fwhm, "end_time": t_peak + 10 * fwhm,
                "peak_time": t_peak, "max_probability": 1.0}
    measured = characterize.characterize_all(lc, [interval])[0]
    ratios.append(measured["amplitude"] / amplitude)
    widths.append(measured["fwhm_min"] / (fwhm * 1440))
    energies.append(measured["energy_erg"])
  assert len(ratios) == 46
  assert 0.7 < np.median(ratios) < 1.3 and 0.5 < np.median(widths) < 2.0
  # AU Mic (TEFF, RADIUS in the header): TESS-band flare energies of 1e31 - 1e35 erg.
  assert 1e31 < np.nanmedian(energies) < 1e35


def test_grouped_cross_validation_by_star_with_bootstrap_intervals(shared_fixtures, tmp_path):
  from flare_transformer import config as config_lib
  from flare_transformer import cross_validation
  tess = shared_fixtures / "flares" / "tess"
  more = shared_fixtures / "flares" / "tess_more"
  # Two folders (a list), one star of the second left out by exclude_tics.
  folders = [tmp_path / "a", tmp_path / "b"]
  for folder in folders:
    folder.mkdir()
  for tic in (358108509, 32150630, 389363695):
    name = "tess2018206045859-s0001-{:016d}-0120-s_lc.fits".format(tic)
    os.symlink(tess / name, folders[0] / name)
  for name in ("tess2018206045859-s0001-0000000053842685-0120-s_lc.fits",
               "tess2020020091053-s0021-0000000166597074-0167-s_lc.fits"):
    os.symlink(more / name, folders[1] / name)
  config = config_lib.load_config(overrides={
      "model": {"d_model": 16, "num_heads": 2, "d_ff": 32},
      "training": {"num_epochs": 1},
      "data": {"processed_dir": str(tmp_path / "processed"),
               "fits_dir": [str(f) for f in folders], "exclude_tics": [166597074],
               "catalogs": [str(tess / "catalog" / "guenther2020_flares_fixtures.csv")],
               "synthetic": {"per_negative": 0.2}}})
  cv_dir = tmp_path / "cv"
  result = cross_validation.cross_validate(config, 2, str(cv_dir), num_bootstrap=50)
  # Every star is a test star exactly once; the excluded one is nowhere.
  assert sorted(t for f in result["folds"] for t in f) == [32150630, 53842685, 358108509,
                                                          389363695]
  for name in ("transformer", "cnn"):
    summary = result["summary"][name]
    assert sorted(summary["per_star"]) == [32150630, 53842685, 358108509, 389363695]
    pooled, interval = summary["pooled"], summary["interval_95"]
    assert pooled["catalog_flares"] == 6  # 4 + 2 Günther flares
    for metric in ("f1", "roc_auc"):
      low, high = interval[metric]
      assert 0 <= low <= pooled[metric] <= high <= 1, (name, metric, low, pooled[metric], high)
    assert pooled["windows"] == sum(s["windows"] for s in summary["per_star"].values())
  assert "| transformer |" in result["markdown"] and "TIC 53842685" in result["markdown"]
  # Resumable: a second call reuses the folds' stored scores (no training).
  before = {p: p.stat().st_mtime for p in cv_dir.rglob("scores.json")}
  assert len(before) == 4
  again = cross_validation.cross_validate(config, 2, str(cv_dir), num_bootstrap=50)
  assert {p: p.stat().st_mtime for p in cv_dir.rglob("scores.json")} == before
  assert again["summary"]["cnn"]["pooled"] == result["summary"]["cnn"]["pooled"]


def test_injection_recovery_grid_on_a_real_star(shared_fixtures, tmp_path):
  from astronet import pretrained
  from flare_transformer import config as config_lib
  from flare_transformer import injection_recovery
  from flare_transformer import model as model_lib
  tess = shared_fixtures / "flares" / "tess"
  folder = tmp_path / "fits"
  folder.mkdir()
  name = "tess2018206045859-s0001-0000000358108509-0120-s_lc.fits"
  os.symlink(tess / name, folder / name)
  config = config_lib.load_config(overrides={"data": {
      "fits_dir": str(folder),
      "catalogs": [str(tess / "catalog" / "guenther2020_flares_fixtures.csv")]}})
  model = model_lib.load_model(pretrained.model_files("flare_cnn")[0])
  grid = injection_recovery.Grid(amplitudes=(0.003, 1.0), t_half_minutes=(4.0, 30.0),
                                 per_light_curve=6)
  models = injection_recovery.single_model("flare_cnn", model, [358108509])
  results = injection_recovery.run(config, models, str(tmp_path / "out"), grid)
  summary = results["models"]["flare_cnn"]["summary"]
  injected, fraction = np.asarray(summary["injected"]), np.asarray(summary["fraction"])
  assert (injected == 6).all()
  # Bright long flares are found and measured; flares at the noise level mostly are not.
  assert fraction[1, 1] >= 0.8 and fraction[0, 0] <= 0.5 and fraction[1, 1] > fraction[0, 0]
  assert 0.5 < summary["median_ed_ratio"][1][1] < 1.5
  ed = summary["completeness"]["ed_s"]
  assert ed == sorted(ed) and len(ed) == 4
  assert (tmp_path / "out" / "recovery_flare_cnn.png").stat().st_size > 10000
  assert "| 1 |" in (tmp_path / "out" / "recovery.md").read_text()
  # Injected peaks keep away from catalogued flares, gaps and each other.
  lc = data.read_light_curve(str(folder / name))
  catalog = data.read_catalog(str(tess / "catalog" / "guenther2020_flares_fixtures.csv"))
  quiet = injection_recovery.quiet_mask(lc, catalog[358108509]["tpeak"], [])
  peaks = injection_recovery.draw_peaks(lc, quiet, 10, np.random.default_rng(1))
  assert np.all(np.diff(peaks) >= injection_recovery.MIN_SEPARATION_DAYS)
  assert np.min(np.abs(peaks[:, None] - catalog[358108509]["tpeak"][None])) > 0.1
