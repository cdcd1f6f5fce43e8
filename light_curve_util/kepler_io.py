"""Reading Kepler light curves (port of exoplanet-ml `light_curve/kepler_io.py`).

Files follow the MAST layout:
``{base_dir}/{kepid[:4]}/{kepid}/kplr{kepid}-{quarter_prefix}_{llc|slc}.fits``
with kepid zero-padded to 9 digits. Times are BKJD (days); flux is PDCSAP_FLUX
(e-/s), returned in the file's dtype (float32) in native byte order.
"""

from __future__ import annotations

import os.path
from collections.abc import Sequence

import numpy as np

from light_curve_util import fits_io
from light_curve_util import util
from tf_util import errors

LONG_CADENCE_QUARTER_PREFIXES = {
    0: ["2009131105131"],
    1: ["2009166043257"],
    2: ["2009259160929"],
    3: ["2009350155506"],
    4: ["2010078095331", "2010009091648"],
    5: ["2010174085026"],
    6: ["2010265121752"],
    7: ["2010355172524"],
    8: ["2011073133259"],
    9: ["2011177032512"],
    10: ["2011271113734"],
    11: ["2012004120508"],
    12: ["2012088054726"],
    13: ["2012179063303"],
    14: ["2012277125453"],
    15: ["2013011073258"],
    16: ["2013098041711"],
    17: ["2013131215648"],
}

SHORT_CADENCE_QUARTER_PREFIXES = {
    0: ["2009131110544"],
    1: ["2009166044711"],
    2: ["2009201121230", "2009231120729", "2009259162342"],
    3: ["2009291181958", "2009322144938", "2009350160919"],
    4: ["2010009094841", "2010019161129", "2010049094358", "2010078100744"],
    5: ["2010111051353", "2010140023957", "2010174090439"],
    6: ["2010203174610", "2010234115140", "2010265121752"],
    7: ["2010296114515", "2010326094124", "2010355172524"],
    8: ["2011024051157", "2011053090032", "2011073133259"],
    9: ["2011116030358", "2011145075126", "2011177032512"],
    10: ["2011208035123", "2011240104155", "2011271113734"],
    11: ["2011303113607", "2011334093404", "2012004120508"],
    12: ["2012032013838", "2012060035710", "2012088054726"],
    13: ["2012121044856", "2012151031540", "2012179063303"],
    14: ["2012211050319", "2012242122129", "2012277125453"],
    15: ["2012310112549", "2012341132017", "2013011073258"],
    16: ["2013017113907", "2013065031647", "2013098041711"],
    17: ["2013121191144", "2013131215648"],
}

# Quarter orders of the scrambled simulated light curves (KSCI-19114-002, p. 9).
SIMULATED_DATA_SCRAMBLE_ORDERS = {
    "SCR1": [0, 13, 14, 15, 16, 9, 10, 11, 12, 5, 6, 7, 8, 1, 2, 3, 4, 17],
    "SCR2": [0, 1, 2, 3, 4, 13, 14, 15, 16, 9, 10, 11, 12, 5, 6, 7, 8, 17],
    "SCR3": [0, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 17],
}


def kepler_filenames(base_dir: str,
                     kep_id,
                     long_cadence: bool = True,
                     quarters: Sequence[int] | None = None,
                     injected_group: str | None = None,
                     check_existence: bool = True) -> list[str]:
  """Returns the light-curve file names of a Kepler target, in quarter order.

  Args:
    base_dir: Base directory of the Kepler data: MAST's layout, or a flat folder
      of kplr*.fits files (looked at when the MAST folder holds none).
    kep_id: Kepler id, an int or a possibly zero-padded string.
    long_cadence: Long (~29.4 min) rather than short (~1 min) cadence.
    quarters: Optional quarters in [0, 17]; default all.
    injected_group: Optional injected-light-curve group ("inj1", "inj2", "inj3").
    check_existence: Only return files that exist.

  Returns:
    List of file names.
  """
  kep_id = "{:09d}".format(int(kep_id))
  quarter_prefixes, cadence_suffix = ((LONG_CADENCE_QUARTER_PREFIXES, "llc")
                                      if long_cadence else
                                      (SHORT_CADENCE_QUARTER_PREFIXES, "slc"))
  if quarters is None:
    quarters = quarter_prefixes.keys()
  quarters = sorted(quarters)

  def names_in(folder):
    names = []
    for quarter in quarters:
      for quarter_prefix in quarter_prefixes[quarter]:
        if injected_group:
          base_name = "kplr{}-{}_INJECTED-{}_{}.fits".format(
              kep_id, quarter_prefix, injected_group, cadence_suffix)
        else:
          base_name = "kplr{}-{}_{}.fits".format(kep_id, quarter_prefix, cadence_suffix)
        filename = os.path.join(folder, base_name)
        if not check_existence or os.path.exists(filename):
          names.append(filename)
    return names

  # MAST's layout ({base}/{kepid[:4]}/{kepid}/), else a flat folder of kplr*.fits.
  filenames = names_in(os.path.join(base_dir, kep_id[0:4], kep_id))
  if check_existence and not filenames:
    filenames = names_in(base_dir)
  return filenames


def scramble_light_curve(all_time, all_flux, all_quarters, scramble_type):
  """Reorders the quarters' flux as in the scrambled simulated data.

  Returns:
    scr_time: Time values re-split to the lengths of scr_flux.
    scr_flux: The flux arrays in scramble order (missing quarters skipped).
  """
  order = SIMULATED_DATA_SCRAMBLE_ORDERS[scramble_type]
  scr_flux = [
      all_flux[all_quarters.index(quarter)]
      for quarter in order
      if quarter in all_quarters
  ]
  scr_time = util.reshard_arrays(all_time, scr_flux)
  return scr_time, scr_flux


def read_kepler_light_curve(filenames: Sequence[str],
                            light_curve_extension: str = "LIGHTCURVE",
                            scramble_type: str | None = None,
                            interpolate_missing_time: bool = False,
                            invert: bool = False):
  """Reads time and flux of a Kepler target, one array pair per file.

  Rows with non-finite TIME or PDCSAP_FLUX are dropped.

  Args:
    filenames: FITS files.
    light_curve_extension: Name of the light-curve extension.
    scramble_type: Optional scrambling procedure ('SCR1', 'SCR2', 'SCR3').
    interpolate_missing_time: Interpolate NaN times from CADENCENO (matters only
      when scrambling decouples NaN times from NaN fluxes).
    invert: Reflect each file's flux about its median.

  Returns:
    all_time: List of float64 arrays (BKJD, days).
    all_flux: List of flux arrays (PDCSAP_FLUX, e-/s).

  Raises:
    LightCurveFileError: A file is missing, truncated or corrupt.
    MissingFieldError: The extension or a column is missing.
    EmptyLightCurveError: No file has any finite point.
  """
  all_time = []
  all_flux = []
  all_quarters = []
  all_names = []
  columns = ["TIME", "PDCSAP_FLUX"]
  if interpolate_missing_time:
    columns.append("CADENCENO")
  for filename in filenames:
    table = fits_io.read_fits_columns(
        filename, light_curve_extension, columns,
        header_keys=["QUARTER"] if scramble_type else ())
    time, flux = table.columns["TIME"], table.columns["PDCSAP_FLUX"]
    if not time.size:
      continue
    if interpolate_missing_time:
      time = util.interpolate_missing_time(time, table.columns["CADENCENO"])
    all_time.append(time)
    all_flux.append(flux)
    all_quarters.append(table.header.get("QUARTER"))
    all_names.append(filename)

  if scramble_type:
    all_time, all_flux = scramble_light_curve(all_time, all_flux, all_quarters,
                                              scramble_type)

  for i, (time, flux) in enumerate(zip(all_time, all_flux)):
    finite = np.isfinite(flux) & np.isfinite(time)
    all_time[i] = time[finite]
    all_flux[i] = flux[finite]
    if not scramble_type:  # Scrambling reorders quarters on purpose.
      util.check_times(all_time[i], all_names[i])

  if filenames and not any(len(t) for t in all_time):
    raise errors.EmptyLightCurveError(
        "No finite TIME/PDCSAP_FLUX values in {}".format(", ".join(filenames)))

  if invert:
    for flux in all_flux:
      flux -= 2 * np.median(flux)
      flux *= -1
  return all_time, all_flux
