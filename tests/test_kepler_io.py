"""Tests of light_curve_util.kepler_io on the real Kepler-90 FITS files."""

import os
import shutil

import numpy as np
import pytest
from astropy.io import fits

from light_curve_util import kepler_io
from tests.conftest import KEPLER90_ID
from tests.conftest import KEPLER_FITS_DIR
from tf_util import errors


@pytest.mark.parametrize("name,kwargs", [
    ("all_long", dict(kep_id=11442793, check_existence=False)),
    ("inj1_q5_q4", dict(kep_id=11442793, quarters=[5, 4], injected_group="inj1",
                        check_existence=False)),
    ("short_q3_q4", dict(kep_id="11442793", long_cadence=False, quarters=[3, 4],
                         check_existence=False)),
])
def test_kepler_filenames_match_original(golden_functions_meta, name, kwargs):
  expected = golden_functions_meta["kepler_io.kepler_filenames"]["results"][name]
  assert kepler_io.kepler_filenames("BASE", **kwargs) == expected


def test_kepler_filenames_existing(golden_functions_meta, kepler90_files):
  expected = golden_functions_meta["kepler_io.kepler_filenames"][
      "existing_files_relative"]
  assert kepler90_files == [str(KEPLER_FITS_DIR / f) for f in expected]
  # A zero-padded string id finds the same files.
  assert kepler_io.kepler_filenames(str(KEPLER_FITS_DIR), "011442793") == kepler90_files


def test_a_flat_folder_of_kplr_files_works_too(kepler90_files, tmp_path):
  for path in kepler90_files:
    os.symlink(path, tmp_path / os.path.basename(path))
  flat = kepler_io.kepler_filenames(str(tmp_path), 11442793)
  assert [os.path.basename(p) for p in flat] == [os.path.basename(p) for p in kepler90_files]
  assert all(os.path.dirname(p) == str(tmp_path) for p in flat)
  assert kepler_io.kepler_filenames(str(tmp_path), 11442794) == []


def test_read_matches_original(golden_kepler90i, kepler90_files):
  all_time, all_flux = kepler_io.read_kepler_light_curve(kepler90_files)
  assert [len(t) for t in all_time] == list(golden_kepler90i["raw_segment_lengths"])
  np.testing.assert_array_equal(np.concatenate(all_time), golden_kepler90i["time"])
  np.testing.assert_array_equal(
      np.concatenate(all_flux).astype(np.float64), golden_kepler90i["flux"])
  # PDCSAP_FLUX stays float32 (the 1e-5 view parity depends on it), native order.
  assert all(f.dtype == np.float32 and f.dtype.isnative for f in all_flux)
  assert all(t.dtype == np.float64 for t in all_time)


def test_read_invert_reflects_about_median(kepler90_files):
  (time,), (flux,) = kepler_io.read_kepler_light_curve(kepler90_files[:1])
  (_,), (inverted,) = kepler_io.read_kepler_light_curve(
      kepler90_files[:1], invert=True)
  np.testing.assert_allclose(inverted, 2 * np.median(flux) - flux, rtol=1e-6)


def test_scramble_reorders_quarters(kepler90_files):
  all_time, all_flux = kepler_io.read_kepler_light_curve(kepler90_files)
  # SCR3 reverses quarters 1..16: Q5, Q4, Q3 flux on the original time grid.
  scr_time, scr_flux = kepler_io.read_kepler_light_curve(
      kepler90_files, scramble_type="SCR3", interpolate_missing_time=True)
  assert len(scr_flux) == 3
  np.testing.assert_array_equal(np.concatenate(scr_flux)[:len(all_flux[2])],
                                all_flux[2])


def test_missing_file_names_the_file(tmp_path):
  missing = str(tmp_path / "kplr000000001-2009350155506_llc.fits")
  with pytest.raises(errors.LightCurveFileError, match="not found.*kplr000000001"):
    kepler_io.read_kepler_light_curve([missing])


@pytest.mark.parametrize("keep_bytes", [100, 20000, 200000])
def test_truncated_file_names_the_file(tmp_path, kepler90_files, keep_bytes):
  data = open(kepler90_files[0], "rb").read()
  bad = tmp_path / "truncated_llc.fits"
  bad.write_bytes(data[:keep_bytes])
  with pytest.raises(errors.LightCurveFileError, match="truncated_llc.fits"):
    kepler_io.read_kepler_light_curve([str(bad)])


def test_corrupt_file_names_the_file(tmp_path):
  bad = tmp_path / "garbage_llc.fits"
  bad.write_bytes(b"not a fits file " * 400)
  with pytest.raises(errors.LightCurveFileError, match="garbage_llc.fits"):
    kepler_io.read_kepler_light_curve([str(bad)])


def test_missing_extension_names_extension(kepler90_files):
  with pytest.raises(errors.MissingFieldError, match="no extension 'NOPE'") as e:
    kepler_io.read_kepler_light_curve(kepler90_files[:1], light_curve_extension="NOPE")
  assert e.value.filename == kepler90_files[0]


def _rewrite_table(src, dst, edit):
  with fits.open(src) as hdul:
    table = hdul["LIGHTCURVE"]
    new_table = edit(table)
    fits.HDUList([hdul[0].copy(), new_table]).writeto(dst)


def test_missing_column_names_column(tmp_path, kepler90_files):
  dst = str(tmp_path / "nopdc_llc.fits")

  def drop_pdcsap(table):
    cols = [c for c in table.columns if c.name != "PDCSAP_FLUX"]
    return fits.BinTableHDU.from_columns(cols, header=table.header, name="LIGHTCURVE")

  _rewrite_table(kepler90_files[0], dst, drop_pdcsap)
  with pytest.raises(errors.MissingFieldError, match="no column 'PDCSAP_FLUX'") as e:
    kepler_io.read_kepler_light_curve([dst])
  assert e.value.field == "PDCSAP_FLUX"


def test_all_nan_light_curve_is_an_error(tmp_path, kepler90_files):
  dst = str(tmp_path / "allnan_llc.fits")

  def nan_flux(table):
    new = fits.BinTableHDU(data=table.data.copy(), header=table.header, name="LIGHTCURVE")
    new.data["PDCSAP_FLUX"][:] = np.nan
    return new

  _rewrite_table(kepler90_files[0], dst, nan_flux)
  with pytest.raises(errors.EmptyLightCurveError, match="allnan_llc.fits"):
    kepler_io.read_kepler_light_curve([dst])


def test_directory_copy_is_found(tmp_path, kepler90_files):
  # The MAST layout is all that kepler_filenames needs.
  dst = tmp_path / "0114" / "011442793"
  dst.mkdir(parents=True)
  shutil.copy(kepler90_files[1], dst)
  found = kepler_io.kepler_filenames(str(tmp_path), KEPLER90_ID)
  assert [os.path.basename(f) for f in found] == [os.path.basename(kepler90_files[1])]
