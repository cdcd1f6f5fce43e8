"""Vetting reports: rendered for real and fixture TCEs, with what they show checked."""

import csv
import os
import pathlib
import subprocess
import sys

import numpy as np

from astronet import missions
from astronet import vetting
from astronet.data import tce_views
from tests.conftest import KEPLER_FITS_DIR

ROOT = pathlib.Path(__file__).resolve().parent.parent
TRIAGE = ROOT / "tests" / "data" / "triage"
PNG = b"\x89PNG\r\n\x1a\n"


def test_kepler90i_report_from_the_real_light_curve(tmp_path):
  _, _, time, flux = tce_views.tce_light_curve(11442793, "kepler", str(KEPLER_FITS_DIR))
  tce = vetting.Tce(11442793, 14.44912, 2.2, 0.11267)
  shown = vetting.render(time, flux, tce, missions.KEPLER, [0.4, 0.6],
                         str(tmp_path / "kepler90i.pdf"))
  assert (tmp_path / "kepler90i.pdf").read_bytes()[:5] == b"%PDF-"
  assert 30 < shown["depth_ppm"] < 300  # Kepler-90 i: ~1.3 Earth radii
  assert shown["probability"] == 0.5 and abs(shown["spread"] - 0.1) < 1e-12
  assert shown["views"]["global_view"].shape == (2001,)
  assert shown["views"]["odd"] is not None and shown["views"]["even"] is not None


def test_reports_of_the_fixture_tces_show_their_catalog_depths(tmp_path):
  with open(TRIAGE / "synthetic_tces.csv") as f:
    rows = list(csv.DictReader(f))
  for row in rows:
    tic, sector = int(row["tic_id"]), int(row["Sectors"])
    _, _, time, flux = tce_views.tce_light_curve(tic, "tess", str(TRIAGE / "lightcurves"),
                                                 sector)
    tce = vetting.Tce(tic, float(row["Period"]), float(row["Epoc"]),
                      float(row["Duration"]) / 24, [sector], row["Disposition"])
    path = tmp_path / "{}.png".format(tic)
    shown = vetting.render(time, flux, tce, missions.TESS, [0.9], str(path))
    assert path.read_bytes()[:8] == PNG
    expected = float(row["Transit_Depth"])
    assert abs(shown["depth_ppm"] - expected) < 0.2 * expected, (tic, shown["depth_ppm"])


def test_predict_and_batch_predict_write_reports(tmp_path):
  env = dict(os.environ, PYTHONPATH=str(ROOT))
  def run(script, *args):
    proc = subprocess.run([sys.executable, str(ROOT / "astronet" / script), "--pretrained=triage"]
                          + list(args), capture_output=True, text=True, env=env, timeout=300,
                          cwd=tmp_path)
    return proc.returncode, proc.stdout, proc.stderr
  lightcurves = "--tess_data_dir=" + str(TRIAGE / "lightcurves")
  tce = ["--tic_id=100000002", "--sector=3", "--period=1.0874", "--t0=1382.118922",
         "--duration=0.0667"]
  code, out, err = run("predict.py", lightcurves, *tce, "--report=report.png")
  assert code == 0, err
  assert "Vetting report: report.png" in out and (tmp_path / "report.png").read_bytes()[:8] == PNG
  code, _, err = run("predict.py", lightcurves, *tce, "--report=report.jpg")
  assert code == 2 and ".png or .pdf" in err
  code, _, err = run("batch_predict.py", "--input_tce_csv_file=" + str(TRIAGE / "synthetic_tces.csv"),
                     lightcurves, "--report_dir=reports", "--output_dir=.")
  assert code == 0, err
  assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == [
      "100000001-2.png", "100000002-3.png", "100000003-4.png"]
  code, _, err = run("batch_predict.py", "--tfrecord_dir=.", "--report_dir=reports")
  assert code == 2 and "--report_dir needs --input_tce_csv_file" in err
  assert np.isfinite(float((tmp_path / "prediction_.txt").read_text().split()[1]))


def test_view_figures_are_drawn_in_parallel_workers(tmp_path):
  from astronet import plotting
  rng = np.random.default_rng(0)
  items = [(rng.normal(size=201), rng.normal(size=61), "TCE {}".format(i),
            str(tmp_path / "{}.png".format(i))) for i in range(8)]
  assert plotting.plot_views_many(items, processes=2) == 8
  assert all((tmp_path / "{}.png".format(i)).read_bytes()[:8] == PNG for i in range(8))
