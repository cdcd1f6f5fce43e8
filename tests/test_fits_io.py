"""light_curve_util.fits_io: the direct FITS table reader against astropy's, on real files."""

import numpy as np
import pytest
from astropy.io import fits

from light_curve_util import fits_io
from tests.conftest import KEPLER_FITS_DIR
from tests.conftest import TEST_DATA
from tf_util import errors

KEPLER_FILES = sorted(KEPLER_FITS_DIR.glob("*/*/*.fits"))
TESS_FILES = sorted((TEST_DATA / "tess").glob("*.fits"))
KEPLER_COLUMNS = ["TIME", "PDCSAP_FLUX", "SAP_FLUX", "SAP_QUALITY", "CADENCENO",
                  ("PDCSAP_FLUX_ERR", "NO_SUCH")]
TESS_COLUMNS = ["TIME", "PDCSAP_FLUX", "QUALITY", "CADENCENO", ("KSPSAP_FLUX", "SAP_FLUX")]


def assert_same_table(direct, expected):
  assert direct.resolved == expected.resolved
  assert direct.header == expected.header
  assert [type(v) for v in direct.header.values()] == [type(v) for v in expected.header.values()]
  assert list(direct.columns) == list(expected.columns)
  for name, values in expected.columns.items():
    got = direct.columns[name]
    assert got.dtype == values.dtype and got.dtype.isnative, name
    np.testing.assert_array_equal(got, values, err_msg=name)


@pytest.mark.parametrize("path", KEPLER_FILES, ids=lambda p: p.name)
def test_direct_reader_equals_astropy_on_kepler_files(path):
  keys = ["QUARTER", "KEPLERID", "OBJECT", "TEFF", "SIMPLE", "NO_SUCH_KEY"]
  direct = fits_io._read_direct(str(path), "LIGHTCURVE", KEPLER_COLUMNS, keys)  # pylint: disable=protected-access
  assert_same_table(direct, fits_io.read_fits_columns_astropy(str(path), "LIGHTCURVE",
                                                              KEPLER_COLUMNS, keys))
  assert direct.header["QUARTER"] in (3, 4, 5) and direct.header["NO_SUCH_KEY"] is None
  assert np.isfinite(direct.columns["PDCSAP_FLUX"]).sum() > 1000


@pytest.mark.parametrize("path", TESS_FILES, ids=lambda p: p.name)
def test_direct_reader_equals_astropy_on_tess_spoc_files(path):
  keys = ["SECTOR", "TICID", "TESSMAG", "RADIUS"]
  direct = fits_io._read_direct(str(path), "lightcurve", TESS_COLUMNS, keys)  # pylint: disable=protected-access
  assert_same_table(direct, fits_io.read_fits_columns_astropy(str(path), "LIGHTCURVE",
                                                              TESS_COLUMNS, keys))


def test_direct_reader_equals_astropy_on_the_shared_tess_sectors(shared_fixtures):
  paths = sorted((shared_fixtures / "flares").glob("tess*/*.fits"))
  assert paths
  for path in paths:
    keys = ["SECTOR", "TICID", "TEFF", "RADIUS"]
    try:
      direct = fits_io._read_direct(str(path), "LIGHTCURVE", TESS_COLUMNS, keys)  # pylint: disable=protected-access
    except fits_io._Unsupported:  # pylint: disable=protected-access
      # e.g. a blank TEFF: astropy reads it; the public function falls back.
      direct = fits_io.read_fits_columns(str(path), "LIGHTCURVE", TESS_COLUMNS, keys)
    assert_same_table(direct, fits_io.read_fits_columns_astropy(str(path), "LIGHTCURVE",
                                                                TESS_COLUMNS, keys))


def test_what_the_direct_reader_leaves_to_astropy(tmp_path):
  """Scaled columns, vector columns, truncation: astropy's arrays or astropy's errors."""
  time = np.arange(5, dtype=np.float64)
  counts = np.array([0, 1, 2, 40000, 65535], np.uint16)  # stored with TZERO = 32768
  table = fits.BinTableHDU.from_columns([
      fits.Column("TIME", "D", array=time), fits.Column("COUNTS", "I", bzero=32768,
                                                        array=counts),
      fits.Column("VEC", "3E", array=np.ones((5, 3), np.float32))], name="LIGHTCURVE")
  path = tmp_path / "scaled.fits"
  fits.HDUList([fits.PrimaryHDU(), table]).writeto(path)
  for request in (["COUNTS"], ["VEC"]):
    with pytest.raises(fits_io._Unsupported):  # pylint: disable=protected-access
      fits_io._read_direct(str(path), "LIGHTCURVE", request, [])  # pylint: disable=protected-access
  read = fits_io.read_fits_columns(str(path), "LIGHTCURVE", ["TIME", "COUNTS", "VEC"])
  np.testing.assert_array_equal(read.columns["COUNTS"], counts)
  assert read.columns["VEC"].shape == (5, 3)
  # The plain column is read directly.
  np.testing.assert_array_equal(
      fits_io._read_direct(str(path), "LIGHTCURVE", ["TIME"], []).columns["TIME"], time)  # pylint: disable=protected-access

  # A truncated table and a missing column keep astropy's errors.
  data = KEPLER_FILES[0].read_bytes()
  truncated = tmp_path / "kplr_truncated_llc.fits"
  truncated.write_bytes(data[:len(data) // 2])
  with pytest.raises(errors.LightCurveFileError, match="kplr_truncated_llc.fits"):
    fits_io.read_fits_columns(str(truncated), "LIGHTCURVE", ["TIME", "PDCSAP_FLUX"])
  with pytest.raises(errors.MissingFieldError, match="no column 'NO_SUCH'"):
    fits_io.read_fits_columns(str(KEPLER_FILES[0]), "LIGHTCURVE", ["TIME", "NO_SUCH"])
  with pytest.raises(errors.MissingFieldError, match="no extension 'NOPE'"):
    fits_io.read_fits_columns(str(KEPLER_FILES[0]), "NOPE", ["TIME"])
