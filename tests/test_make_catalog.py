"""make_empty_catalog -> make_catalog -> generate_input_records, with local lookups."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from astronet.data import make_catalog
from astronet.data import record_generation as gir
from astronet.data import records
from astronet.data import tce_table
from astronet.data import tev_catalog
from tf_util import errors
from tf_util import example_util

BLS_HEADER = ("# BLS_Period_1_0 BLS_Tc_1_0 BLS_SN_1_0 BLS_SignaltoPinknoise_1_0 "
              "BLS_Qtran_1_0 BLS_Qingress_1_0 BLS_Depth_1_0 BLS_Npointsintransit_1_0 "
              "BLS_OOTmag_1_0")


def write_bls(bls_dir, tic, sector, camera, ccd, period, tc, duration_hours, depth_ppm,
              snr, npoints=40, ootmag=10.4):
  path = make_catalog.bls_filename(str(bls_dir), tic, sector, camera, ccd)
  qtran = duration_hours / 24 / period
  values = [period, tc, snr, snr, qtran, 0.15, depth_ppm / 1e6, npoints, ootmag]
  import os
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w") as f:
    f.write(BLS_HEADER + "\n" + " ".join(repr(float(v)) for v in values) + "\n")
  return path


@pytest.fixture()
def inputs(tmp_path, test_data):
  (tmp_path / "sector-2-good.txt").write_text("100000001\n")
  (tmp_path / "sector-3-bad.txt").write_text("# junk\n100000002\n\n")
  (tmp_path / "sector-4-faint.txt").write_text("100000003\n")
  tic = pd.DataFrame({"tic_id": [100000001, 100000002, 100000003],
                      "ra": [150.1, 156.9, 198.3], "dec": [35.2, -75.8, 33.3],
                      "tmag": [10.42, 11.07, 12.5], "rad": [0.7, 1.41, 1.08],
                      "mass": [0.8, 1.1, 1.0], "teff": [4755.8, 5088.3, 5277.1],
                      "logg": [4.6, 4.2, 4.4]})
  pointing = pd.DataFrame({"tic_id": [100000001, 100000002, 100000003],
                           "sector": [2, 3, 4], "camera": [1, 2, 3], "ccd": [2, 1, 4]})
  bls_dir = tmp_path / "bls"
  write_bls(bls_dir, 100000001, 2, 1, 2, 3.2083, 1355.474756, 3.1, 5200, 42.3)
  # 100000002: BLS peak fails the cuts (SN 3) -> keeps TEV values, NaN SN.
  write_bls(bls_dir, 100000002, 3, 2, 1, 1.0874, 1382.118922, 1.6, 1800, 3.0)
  return tmp_path, tic, pointing, bls_dir


def test_make_empty_catalog_one_file_per_sector(inputs):
  tmp_path = inputs[0]
  catalogs = tev_catalog.make_empty_catalog(
      [str(tmp_path / f) for f in ("sector-2-good.txt", "sector-3-bad.txt")])
  assert sorted(catalogs) == [2, 3]
  table = catalogs[3]
  assert list(table.columns) == list(tev_catalog.TEV_COLUMNS)
  assert table[["tic_id", "toi_id", "Disposition", "Sectors", "src"]].values.tolist() == [
      [100000002, ".01", "J", 3, "qlp"]]
  (tmp_path / "sector-x.txt").write_text("1\n")
  with pytest.raises(errors.CatalogError, match="Cannot tell the sector"):
    tev_catalog.make_empty_catalog([str(tmp_path / "sector-x.txt")])
  (tmp_path / "sector-5-a.txt").write_text("12\nabc\n")
  with pytest.raises(errors.CatalogError, match=r"sector-5-a.txt line 2: 'abc'"):
    tev_catalog.make_empty_catalog([str(tmp_path / "sector-5-a.txt")])


def test_catalog_to_records(inputs, test_data):
  tmp_path, tic, pointing, bls_dir = inputs
  catalogs = tev_catalog.make_empty_catalog(
      [str(tmp_path / f) for f in ("sector-2-good.txt", "sector-3-bad.txt",
                                   "sector-4-faint.txt")])
  # A TEV row with its own ephemeris (the empty catalog's rows have none).
  catalogs[3][["Epoc", "Period", "Duration", "Transit Depth"]] = [1382.118922, 1.0874, 1.6, 1800]
  tev_files = []
  for sector, table in catalogs.items():
    tev_files.append(str(tmp_path / "sector-{}-all.csv".format(sector)))
    tev_catalog.write_csv_atomically(table, tev_files[-1], index=False)
  tces = make_catalog.read_tev_csvs(tev_files)
  catalog = make_catalog.fill_catalog(tces, tic, pointing, str(bls_dir), num_workers=2)
  # 100000002 fails the BLS cuts: TEV values kept, SN NaN. 100000003 (faint, no BLS
  # refit) has no period at all and is dropped.
  assert catalog["tic_id"].tolist() == [100000001, 100000002]
  assert list(catalog.columns) == list(make_catalog.CATALOG_COLUMNS)
  row = catalog.iloc[0]
  assert row["Period"] == 3.2083 and row["SN"] == 42.3
  assert row["Duration"] == pytest.approx(3.1) and row["Transit_Depth"] == pytest.approx(5200)
  assert (row["camera"], row["ccd"], row["star_rad"], row["RA"]) == (1, 2, 0.7, 150.1)
  assert np.isnan(catalog.iloc[1]["SN"])
  out_csv = tmp_path / "tces.csv"
  tev_catalog.write_csv_atomically(catalog, str(out_csv), index=False)

  # The catalog feeds generate_input_records; its views equal the golden views.
  table = tce_table.read_tess_tce_table(str(out_csv))
  assert table["tic_id"].tolist() == [100000001]  # NaN SN row dropped, as in Triage
  results = gir.generate_records(
      tce_table.partition_tces(table, num_train_shards=1),
      records.RecordConfig("tess", str(test_data / "triage" / "lightcurves")),
      str(tmp_path / "records"))
  assert sum(r.num_written for r in results) == 1
  golden = np.load(test_data / "triage" / "golden_views.npz")
  ex = tf.train.Example.FromString(next(iter(
      tf.data.TFRecordDataset(str(tmp_path / "records" / "test-00000-of-00001")))).numpy())
  np.testing.assert_allclose(example_util.get_float_feature(ex, "local_view"),
                             golden["100000001/local_view"], atol=1e-5)


def test_missing_lookups_fail_clearly(inputs):
  tmp_path, tic, pointing, bls_dir = inputs
  tces = make_catalog.read_tev_csvs([_write_tev(tmp_path)])
  with pytest.raises(errors.CatalogError, match=r"--tic_table has no row for 1 TCE.*100000002"):
    make_catalog.fill_catalog(tces, tic[tic.tic_id != 100000002], pointing, str(bls_dir))
  with pytest.raises(errors.CatalogError, match=r"--camera_ccd_table has no row"):
    make_catalog.fill_catalog(tces, tic, pointing.iloc[:1], str(bls_dir))
  with pytest.raises(errors.CatalogError, match="give --camera_ccd_table"):
    make_catalog.fill_catalog(tces, tic, None, str(bls_dir))
  with pytest.raises(errors.CatalogError, match=r"lacks column\(s\) \['teff'\]"):
    make_catalog.fill_catalog(tces, tic.drop(columns=["teff"]), pointing, str(bls_dir))
  bad = tmp_path / "bad.blsanal"
  bad.write_text(BLS_HEADER + "\n1.0 2.0\n")
  with pytest.raises(errors.LightCurveFileError, match="9 header names but 2 values"):
    make_catalog.read_bls(str(bad))


def _write_tev(tmp_path):
  table = tev_catalog.make_empty_catalog([str(tmp_path / "sector-3-bad.txt")])[3]
  table["Period"], table["Epoc"], table["Duration"] = 1.0874, 1382.1, 1.6
  path = tmp_path / "tev.csv"
  table.to_csv(path, index=False)
  return str(path)
