"""Tests of light_curve_util.tess_io: Triage h5 and SPOC/QLP FITS light curves."""

import h5py
import numpy as np
import pytest
from astropy.io import fits

from light_curve_util import tess_io
from tf_util import errors

SPOC_FILE = "tess/tess2018349182459-s0006-0000000219423316-0126-s_lc.fits"


@pytest.fixture
def h5_file(test_data):
  return str(test_data / "triage" / "lightcurves" / "sector-2" / "100000001.h5")


def test_tess_filenames(test_data):
  base = str(test_data / "triage" / "lightcurves")
  assert tess_io.tess_filenames(100000001, base, sector=2).endswith(
      "sector-2/100000001.h5")
  assert tess_io.tess_filenames(100000001, base, sector=3) is None
  assert tess_io.tess_filenames(
      7, base, sector=9, check_existence=False).endswith("sector-9/7.h5")


def test_h5_reads_best_aperture_and_drops_flags_and_nans(h5_file):
  time, mag = tess_io.read_tess_light_curve(h5_file)
  with h5py.File(h5_file) as f:
    bestap = int(f["LightCurve/AperturePhotometry"].attrs["bestap"])
    raw_mag = np.array(
        f["LightCurve/AperturePhotometry/Aperture_{:03d}/KSPMagnitude".format(bestap)])
    qflag = np.array(f["LightCurve/QFLAG"])
    bjd = np.array(f["LightCurve/BJD"])
  keep = (qflag == 0) & np.isfinite(raw_mag)
  assert keep.sum() < len(raw_mag)  # the file has flagged and NaN cadences
  np.testing.assert_array_equal(time, bjd[keep])
  np.testing.assert_array_equal(mag, raw_mag[keep])


def _copy_h5(src, dst, drop=None, drop_attr=None):
  with h5py.File(src) as fin, h5py.File(dst, "w") as fout:
    for key in fin:
      fin.copy(key, fout)
    if drop:
      del fout[drop]
    if drop_attr:
      del fout["LightCurve/AperturePhotometry"].attrs[drop_attr]


def test_h5_without_qflag_drops_sector1_cadences(h5_file, tmp_path):
  dst = str(tmp_path / "noqflag.h5")
  _copy_h5(h5_file, dst, drop="LightCurve/QFLAG")
  time, _ = tess_io.read_tess_light_curve(dst)
  with h5py.File(h5_file) as f:
    bjd = np.array(f["LightCurve/BJD"])
  assert bjd[0] not in time and bjd[3] in time  # cadence 0 listed, 3 not


@pytest.mark.parametrize("drop,drop_attr,match", [
    ("LightCurve/BJD", None, "no dataset 'LightCurve/BJD'"),
    ("LightCurve/AperturePhotometry/Aperture_002/KSPMagnitude", None,
     "Aperture_002/KSPMagnitude"),
    (None, "bestap", "no 'bestap' attribute"),
])
def test_h5_missing_fields(h5_file, tmp_path, drop, drop_attr, match):
  dst = str(tmp_path / "broken.h5")
  _copy_h5(h5_file, dst, drop=drop, drop_attr=drop_attr)
  with pytest.raises(errors.MissingFieldError, match=match) as e:
    tess_io.read_tess_light_curve(dst)
  assert "broken.h5" in str(e.value)


def test_h5_truncated_and_corrupt(h5_file, tmp_path):
  data = open(h5_file, "rb").read()
  truncated = tmp_path / "truncated.h5"
  truncated.write_bytes(data[:len(data) // 3])
  with pytest.raises(errors.LightCurveFileError, match="truncated.h5"):
    tess_io.read_tess_light_curve(str(truncated))
  corrupt = tmp_path / "corrupt.h5"
  corrupt.write_bytes(b"\x00garbage" * 100)
  with pytest.raises(errors.LightCurveFileError, match="corrupt.h5"):
    tess_io.read_tess_light_curve(str(corrupt))
  with pytest.raises(errors.LightCurveFileError, match="not found"):
    tess_io.read_tess_light_curve(str(tmp_path / "missing.h5"))


def test_spoc_fits_real_file(test_data):
  filename = str(test_data / SPOC_FILE)
  time, flux, metadata = tess_io.read_tess_fits_light_curve(filename)
  with fits.open(filename) as hdul:
    data = hdul[1].data
    keep = ((data["QUALITY"] == 0) & np.isfinite(data["TIME"]) &
            np.isfinite(data["PDCSAP_FLUX"]))
    np.testing.assert_array_equal(time, data["TIME"][keep])
    np.testing.assert_array_equal(flux, data["PDCSAP_FLUX"][keep])
    sap = data["SAP_FLUX"]
    quality = data["QUALITY"]
  assert metadata["flux_column"] == "PDCSAP_FLUX"
  assert metadata["sector"] == 6 and metadata["tic_id"] == 219423316
  assert metadata["num_kept"] == len(time) < metadata["num_cadences"]

  # SAP flux and a custom bitmask (only bit 3, value 8) are explicit choices.
  _, sap_flux, md = tess_io.read_tess_fits_light_curve(
      filename, flux_column="SAP_FLUX", quality_bitmask=8)
  assert md["flux_column"] == "SAP_FLUX"
  assert len(sap_flux) == np.sum(((quality & 8) == 0) & np.isfinite(sap))


def _qlp_file(path, flux_name, n=200):
  rng = np.random.RandomState(0)
  time = 1400.0 + np.arange(n) / 48.0
  quality = np.zeros(n, dtype=np.int32)
  quality[5] = 4096
  cols = [
      fits.Column("TIME", "D", array=time),
      fits.Column("SAP_FLUX", "E", array=1 + 0.01 * rng.randn(n)),
      fits.Column(flux_name, "E", array=1 + 0.001 * rng.randn(n)),
      fits.Column("QUALITY", "J", array=quality),
  ]
  primary = fits.PrimaryHDU()
  primary.header["SECTOR"] = 30
  primary.header["TICID"] = 12345
  fits.HDUList([primary, fits.BinTableHDU.from_columns(cols, name="LIGHTCURVE")
               ]).writeto(path)
  return time


@pytest.mark.parametrize("file_column,requested", [
    ("KSPSAP_FLUX", None), ("DET_FLUX", None), ("DET_FLUX", "KSPSAP_FLUX"),
    ("KSPSAP_FLUX", "DET_FLUX")])
def test_qlp_accepts_kspsap_and_det_flux(tmp_path, file_column, requested):
  path = str(tmp_path / "qlp.fits")
  time = _qlp_file(path, file_column)
  t, flux, metadata = tess_io.read_tess_fits_light_curve(
      path, pipeline="qlp", flux_column=requested)
  assert metadata["flux_column"] == file_column
  assert len(t) == len(time) - 1 and 1400.0 + 5 / 48.0 not in t
  assert metadata["sector"] == 30


def test_fits_errors(tmp_path, test_data):
  path = str(tmp_path / "qlp.fits")
  _qlp_file(path, "KSPSAP_FLUX")
  with pytest.raises(errors.MissingFieldError, match="no column 'PDCSAP_FLUX'"):
    tess_io.read_tess_fits_light_curve(path, pipeline="spoc")
  with pytest.raises(ValueError, match="flux_column for spoc"):
    tess_io.read_tess_fits_light_curve(path, flux_column="KSPSAP_FLUX")
  with pytest.raises(ValueError, match="pipeline must be one of"):
    tess_io.read_tess_fits_light_curve(path, pipeline="k2")
  # Every cadence flagged -> empty light curve.
  with fits.open(path, mode="update") as hdul:
    hdul[1].data["QUALITY"][:] = 1
  with pytest.raises(errors.EmptyLightCurveError, match="qlp.fits"):
    tess_io.read_tess_fits_light_curve(path, pipeline="qlp")
