"""TESS SPOC and QLP FITS light curves in the Triage pipeline: the same views as the h5.

FITS files holding exactly the photometry of the Triage h5 fixtures (flux =
10^(-0.4 mag), same times, flagged cadences flagged) are written here with
astropy, in MAST's directory layout (SPOC) and flat (QLP).
"""

import csv
import glob
import os
import pathlib

import h5py
import numpy as np
import pytest
from astropy.io import fits

from astronet.data import record_generation
from astronet.data import tce_views
from light_curve_util import tess_io
from tf_util import errors

ROOT = pathlib.Path(__file__).resolve().parent.parent
TRIAGE = ROOT / "tests" / "data" / "triage"
H5_DIR = TRIAGE / "lightcurves"
CATALOG = TRIAGE / "synthetic_tces.csv"


def _tces():
  with open(CATALOG) as f:
    return [{k: v for k, v in row.items()} for row in csv.DictReader(f)]


def _h5_photometry(path):
  with h5py.File(path, "r") as f:
    bestap = int(f["LightCurve/AperturePhotometry"].attrs["bestap"])
    time = np.array(f["LightCurve/BJD"], np.float64)
    mag = np.array(f["LightCurve/AperturePhotometry/Aperture_{:03d}/KSPMagnitude".format(bestap)],
                   np.float64)
    qflag = np.array(f["LightCurve/QFLAG"]) if "QFLAG" in f["LightCurve"] else None
  return time, mag, qflag


def write_fits(h5_path, out_path, pipeline, tic, sector, flag_bit):
  time, mag, qflag = _h5_photometry(h5_path)
  flux = 10.0**(-0.4 * mag)
  quality = np.zeros(len(time), np.int32)
  if qflag is None:
    quality[tess_io.SECTOR1_BAD_CADENCES[tess_io.SECTOR1_BAD_CADENCES < len(time)]] = flag_bit
  else:
    quality[qflag != 0] = flag_bit
  columns = [fits.Column("TIME", "D", array=time), fits.Column("SAP_FLUX", "D", array=flux),
             fits.Column("QUALITY", "J", array=quality)]
  columns.append(fits.Column("PDCSAP_FLUX" if pipeline == "spoc" else "KSPSAP_FLUX", "D",
                             array=flux))
  primary = fits.PrimaryHDU()
  primary.header["TICID"] = tic
  primary.header["SECTOR"] = sector
  table = fits.BinTableHDU.from_columns(columns, name="LIGHTCURVE")
  os.makedirs(os.path.dirname(out_path), exist_ok=True)
  fits.HDUList([primary, table]).writeto(out_path)


@pytest.fixture(scope="module")
def fits_dirs(tmp_path_factory):
  """{"spoc": MAST-layout folder, "qlp": flat folder} of FITS twins of the h5 fixtures."""
  base = tmp_path_factory.mktemp("tess_fits")
  for tce in _tces():
    tic, sector = int(tce["tic_id"]), int(tce["Sectors"])
    h5 = H5_DIR / "sector-{}".format(sector) / "{}.h5".format(tic)
    tid = "{:016d}".format(tic)
    spoc = base / "spoc" / "tid" / "s{:04d}".format(sector) / tid[:4] / tid[4:8] / tid[8:12] / \
        tid[12:] / "tess2018234235059-s{:04d}-{}-0120-s_lc.fits".format(sector, tid)
    # Bit 1 (AttitudeTweak) is in SPOC's default bitmask; QLP drops any flag.
    write_fits(h5, str(spoc), "spoc", tic, sector, flag_bit=1)
    qlp = base / "qlp" / "hlsp_qlp_tess_ffi_s{:04d}-{}_tess_v01_llc.fits".format(sector, tid)
    write_fits(h5, str(qlp), "qlp", tic, sector, flag_bit=4096)
  return {"spoc": str(base / "spoc"), "qlp": str(base / "qlp")}


@pytest.mark.parametrize("fmt", ["spoc", "qlp"])
def test_fits_twins_give_the_views_of_the_h5(fits_dirs, fmt):
  for tce in _tces():
    args = (int(tce["tic_id"]), float(tce["Period"]), float(tce["Epoc"]),
            float(tce["Duration"]) / 24, "tess")
    h5_views = tce_views.process_tce(*args, str(H5_DIR), int(tce["Sectors"]), tess_format="h5")
    fits_views = tce_views.process_tce(*args, fits_dirs[fmt], int(tce["Sectors"]),
                                       tess_format=fmt)
    auto_views = tce_views.process_tce(*args, fits_dirs[fmt], int(tce["Sectors"]))
    for name in ("global_view", "local_view"):
      assert np.max(np.abs(fits_views[name] - h5_views[name])) <= 1e-5, (fmt, name)
      np.testing.assert_array_equal(auto_views[name], fits_views[name])


def test_records_from_fits_carry_their_provenance(fits_dirs, tmp_path):
  _, config, partitions = record_generation.plan(
      [str(CATALOG)], tess_data_dir=fits_dirs["spoc"], num_train_shards=1,
      tess_format="spoc", flux_column="SAP_FLUX")
  assert config.mission_config.light_curve_format == "spoc"
  results = record_generation.generate_records(partitions, config, str(tmp_path),
                                               num_worker_processes=1)
  import tensorflow as tf
  written = [tf.train.Example.FromString(r.numpy())
             for path in sorted(glob.glob(str(tmp_path / "*-0000*")))
             for r in tf.data.TFRecordDataset(path)]
  assert written and results
  for example in written:
    features = example.features.feature
    assert features["light_curve_format"].bytes_list.value == [b"spoc"]
    assert features["flux_column"].bytes_list.value == [b"SAP_FLUX"]
    assert list(features["quality_bitmask"].int64_list.value) == [tess_io.SPOC_DEFAULT_BITMASK]
  # ... and the card of a model trained on them says so.
  from astronet.ops import model_export
  assert model_export.training_light_curves([{"train_files": str(tmp_path / "train-*")}]) == {
      "light_curve_format": "spoc", "flux_column": "SAP_FLUX",
      "quality_bitmask": tess_io.SPOC_DEFAULT_BITMASK}
  assert model_export.training_light_curves(
      [{"train_files": str(TRIAGE / "golden_records" / "train-*")}]) == {}


def test_spoc_default_bitmask_is_lightkurves_and_qlp_drops_every_flag(tmp_path):
  time = 1400 + np.arange(200) * 0.02
  quality = np.zeros(200, np.int32)
  quality[10], quality[11], quality[12] = 1, 64, 16384  # AttitudeTweak, ApertureCosmic, BadCal
  primary = fits.PrimaryHDU()
  primary.header["TICID"], primary.header["SECTOR"] = 5, 3
  for pipeline, flux_name, kept in (("spoc", "PDCSAP_FLUX", 198), ("qlp", "KSPSAP_FLUX", 197)):
    path = tmp_path / "{}.fits".format(pipeline)
    fits.HDUList([primary, fits.BinTableHDU.from_columns(
        [fits.Column("TIME", "D", array=time), fits.Column("QUALITY", "J", array=quality),
         fits.Column(flux_name, "D", array=np.ones(200)),
         fits.Column("SAP_FLUX", "D", array=np.ones(200))], name="LIGHTCURVE")]).writeto(path)
    got, _, _ = tess_io.read_tess_fits_light_curve(str(path), pipeline, None,
                                                   tess_io.DEFAULT_BITMASKS[pipeline])
    assert len(got) == kept, pipeline
  assert tess_io.SPOC_DEFAULT_BITMASK == 17087


def test_bad_format_choices_are_one_clear_error(fits_dirs, tmp_path):
  with pytest.raises(errors.ConfigError, match="--flux_column for spoc must be one of"):
    record_generation.plan([str(CATALOG)], tess_data_dir=fits_dirs["spoc"],
                           tess_format="spoc", flux_column="KSPSAP_FLUX")
  with pytest.raises(errors.ConfigError, match="not the Triage h5"):
    record_generation.plan([str(CATALOG)], tess_data_dir=str(H5_DIR), tess_format="h5",
                           flux_column="SAP_FLUX")
  with pytest.raises(errors.LightCurveFileError, match=r"s_lc\.fits for TIC ID 100000001"):
    tce_views.process_tce(100000001, 3.2, 1355.5, 0.13, "tess", str(tmp_path), 2,
                          tess_format="spoc")


def _catalog(path, extra_rows=()):
  with open(path, "w") as f:
    f.write("tic_id,Sectors,Period,Epoc,Duration\n")
    for tce in _tces():
      f.write("{},{},{},{},{}\n".format(tce["tic_id"], tce["Sectors"], tce["Period"],
                                        tce["Epoc"], tce["Duration"]))
    for row in extra_rows:
      f.write(row + "\n")
  return str(path)


def test_views_from_a_minimal_catalog_equal_the_record_pipeline(fits_dirs, tmp_path):
  from astronet import missions
  from astronet.data import catalog_views
  from astronet.data import tce_table
  catalog = _catalog(tmp_path / "tces.csv", ["100000009,4,13.1,1412.97,2.0"])
  table = tce_table.read_prediction_catalog(catalog, missions.TESS)
  _, config = record_generation.record_config(None, fits_dirs["spoc"], tess_format="spoc")
  records, failures = catalog_views.views_from_catalog(table, config, catalog, progress=False)
  assert records.ids.tolist() == [int(t["tic_id"]) for t in _tces()]
  assert [f.id for f in failures] == ["100000009"]
  for i, tce in enumerate(_tces()):
    expected = tce_views.process_tce(int(tce["tic_id"]), float(tce["Period"]),
                                     float(tce["Epoc"]), float(tce["Duration"]) / 24, "tess",
                                     str(H5_DIR), int(tce["Sectors"]))
    for name in ("global_view", "local_view"):
      assert np.max(np.abs(records.views[name][i] - expected[name])) <= 1e-5
  with pytest.raises(errors.CatalogError, match="lacks column"):
    bad = tmp_path / "bad.csv"
    bad.write_text("tic_id,Period,Epoc,Duration\n1,2,3,4\n")
    tce_table.read_prediction_catalog(str(bad), missions.TESS)


def test_batch_predict_from_a_catalog_matches_the_records_path(fits_dirs, tmp_path):
  import subprocess
  import sys
  env = dict(os.environ, PYTHONPATH=str(ROOT))

  def run(*args):
    proc = subprocess.run([sys.executable, str(ROOT / "astronet" / "batch_predict.py"),
                           "--pretrained=triage", "--per_tce", "--output_dir=" + str(tmp_path)]
                          + list(args), capture_output=True, text=True, env=env, timeout=300)
    return proc.returncode, proc.stderr

  catalog = _catalog(tmp_path / "tces.csv", ["100000009,4,13.1,1412.97,2.0"])
  code, err = run("--input_tce_csv_file=" + catalog, "--tess_data_dir=" + fits_dirs["qlp"],
                  "--suffix=catalog", "--num_worker_processes=2")
  assert code == 0, err
  code, err = run("--tfrecord_dir=" + str(TRIAGE / "golden_records"), "--tfrecord_pattern=*-of-0000*",
                  "--suffix=records")
  assert code == 0, err
  from_catalog = (tmp_path / "prediction_catalog.txt").read_text().split("\n")
  from_records = (tmp_path / "prediction_records.txt").read_text().split("\n")
  assert sorted(from_catalog) == sorted(from_records) and len(from_catalog) >= 3
  failed = (tmp_path / "failed_tces.csv").read_text()
  assert "100000009" in failed and "Failed to find light curve file" in failed
  code, err = run("--input_tce_csv_file=" + _catalog(tmp_path / "none.csv"),
                  "--tess_data_dir=" + str(tmp_path), "--suffix=none")
  assert code == 1 and "every one of the 3 TCEs failed" in err and "Traceback" not in err


def test_all_sectors_are_stitched_with_per_sector_normalisation(tmp_path):
  tce = _tces()[0]
  tic, sector = int(tce["tic_id"]), int(tce["Sectors"])
  h5 = H5_DIR / "sector-{}".format(sector) / "{}.h5".format(tic)
  tid = "{:016d}".format(tic)
  first = tmp_path / "tess2018-s{:04d}-{}-0120-s_lc.fits".format(sector, tid)
  write_fits(h5, str(first), "spoc", tic, sector, flag_bit=1)
  # The next sector: the same photometry 9 periods later at 1.5 x the flux level.
  second = tmp_path / "tess2018-s{:04d}-{}-0120-s_lc.fits".format(sector + 1, tid)
  with fits.open(first) as hdus:
    data = hdus[1].data.copy()
    data["TIME"] += 9 * float(tce["Period"])
    data["PDCSAP_FLUX"] *= 1.5
    hdus[1].data = data
    hdus[0].header["SECTOR"] = sector + 1
    hdus.writeto(second)
  assert sorted(tess_io.fits_sectors(tic, str(tmp_path), "spoc")) == [sector, sector + 1]
  args = (tic, float(tce["Period"]), float(tce["Epoc"]), float(tce["Duration"]) / 24, "tess",
          str(tmp_path), sector)
  both = tce_views.process_tce(*args, tess_format="spoc", sectors="all")
  one = tce_views.process_tce(*args, tess_format="spoc")
  _, _, time_all, _ = tce_views.tce_light_curve(tic, "tess", str(tmp_path), sector,
                                                tess_format="spoc", sectors="all")
  _, _, time_one, _ = tce_views.tce_light_curve(tic, "tess", str(tmp_path), sector,
                                                tess_format="spoc")
  assert len(time_all) == 2 * len(time_one) and time_all.max() > time_one.max() + 20
  # The stitched curve is the two files' (the flux level of each sector cancels).
  stitched_time, stitched_flux = tce_views.tess_fits_light_curve([str(first), str(second)])
  np.testing.assert_array_equal(stitched_time, time_all)
  expected = tce_views.views_of(stitched_time, stitched_flux, *args[1:4], tce_views.missions.TESS)
  for name in ("global_view", "local_view"):
    np.testing.assert_array_equal(both[name], expected[name])
    assert np.max(np.abs(both[name] - one[name])) < 0.3  # the same transit, twice the data
  with pytest.raises(errors.ConfigError, match="--sectors=all reads FITS"):
    tce_views.process_tce(*args[:5], str(H5_DIR), sector, tess_format="h5", sectors="all")


def test_predict_takes_fits_files_by_path(fits_dirs, tmp_path):
  import subprocess
  import sys
  env = dict(os.environ, PYTHONPATH=str(ROOT))
  tce = _tces()[1]
  tic, sector = int(tce["tic_id"]), int(tce["Sectors"])
  fits_file = tess_io.fits_filename(tic, fits_dirs["spoc"], sector, "spoc")
  common = ["--pretrained=triage", "--period=" + tce["Period"], "--t0=" + tce["Epoc"],
            "--duration={}".format(float(tce["Duration"]) / 24)]

  def run(*args):
    proc = subprocess.run([sys.executable, str(ROOT / "astronet" / "predict.py")] + common +
                          list(args), capture_output=True, text=True, env=env, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr

  code, by_path, err = run("--tess_fits=" + fits_file)
  assert code == 0, err
  code, by_folder, err = run("--tess_data_dir=" + str(H5_DIR), "--tic_id={}".format(tic),
                             "--sector={}".format(sector))
  assert code == 0, err
  assert abs(float(by_path.split()[-1]) - float(by_folder.split()[-1])) < 1e-5
  kepler = ROOT / "tests" / "data" / "kepler" / "fits" / "0114" / "011442793" / \
      "kplr011442793-2010009091648_llc.fits"
  code, _, err = run("--tess_fits=" + str(kepler))
  assert code == 2 and "is not a TESS light curve by its name" in err
  code, _, err = run("--tess_fits=" + fits_file, "--flux_column=DET_FLUX")
  assert code == 2 and "flux_column for spoc must be one of" in err
