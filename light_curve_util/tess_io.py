"""Reading TESS light curves.

Two sources, one return shape (time, flux-like values as 1D arrays):

* The Astronet-Triage HDF5 layout (port of Triage `light_curve_util/tess_io.py`):
  ``{base_dir}/sector-{S}/{tic}.h5`` with ``LightCurve/BJD``,
  ``LightCurve/AperturePhotometry/Aperture_{bestap:03d}/KSPMagnitude`` and
  ``LightCurve/QFLAG`` (keep == 0). Values are magnitudes.
* TESS FITS light curves: SPOC (TIME, PDCSAP_FLUX or SAP_FLUX, QUALITY) and QLP
  (TIME, SAP_FLUX or KSPSAP_FLUX / DET_FLUX, QUALITY). QLP renamed KSPSAP_FLUX
  to DET_FLUX in later sectors, so either name satisfies a request for the
  other; the column actually read is returned in the metadata.

Times are BTJD (BJD - 2457000, days).
"""

from __future__ import annotations

import glob
import os.path
import re

import h5py
import numpy as np

from light_curve_util import fits_io
from light_curve_util import util
from tf_util import errors

# Cadence indices dropped from sector-1 files that have no QFLAG dataset (the
# Triage original's hand-made list of sector-1 outliers).
SECTOR1_BAD_CADENCES = np.array(
    [0, 1, 2, 31, 49, 88, 121, 152, 186, 188, 199, 224, 225, 228, 241, 340, 359,
     361, 463, 464, 465, 481, 482, 483, 546, 547, 583, 584, 598, 599, 600, 601,
     602] + list(range(631, 679)) +
    [723, 726, 727, 730, 748, 749, 752, 753, 754, 755, 756, 817, 819, 839, 853,
     854, 855, 866, 872, 873, 874, 875, 969, 971, 977, 987] +
    list(range(992, 1004)) + list(range(1005, 1105)) +
    [1108, 1112, 1113, 1114, 1141, 1175, 1180, 1183, 1191, 1193, 1195, 1196,
     1208, 1209, 1210, 1214, 1225, 1226, 1231, 1232, 1233, 1235, 1258, 1278,
     1279, 1280])

# Flux columns by pipeline; the first is the default.
FLUX_COLUMNS = {
    "spoc": ("PDCSAP_FLUX", "SAP_FLUX"),
    "qlp": ("KSPSAP_FLUX", "DET_FLUX", "SAP_FLUX"),
}
# SPOC QUALITY bits of cadences that are definitely useless, the set of
# lightkurve's "default" bitmask: AttitudeTweak 1, SafeMode 2, CoarsePoint 4,
# EarthPoint 8, Argabrightening 16, Desat 32, ManualExclude 128,
# ImpulsiveOutlier 512, BadCalibrationExclude 16384.
SPOC_DEFAULT_BITMASK = 1 | 2 | 4 | 8 | 16 | 32 | 128 | 512 | 16384
# The quality rule of each pipeline's FITS: bitmask (None: QUALITY != 0 drops).
DEFAULT_BITMASKS = {"spoc": SPOC_DEFAULT_BITMASK, "qlp": None}
# File names of one TIC and sector (glob patterns), by pipeline: SPOC 2-min / 20-s
# light curves and QLP's high-level science product.
FITS_PATTERNS = {
    "spoc": "tess*-s{sector:04d}-{tic:016d}-*-s_lc.fits",
    "qlp": "hlsp_qlp_tess_ffi_s{sector:04d}-{tic:016d}_tess_v01_llc.fits",
}
TESS_FORMATS = ("auto", "h5", "spoc", "qlp")

# Names that satisfy a request for one another (QLP's rename).
_FLUX_COLUMN_ALIASES = {
    "KSPSAP_FLUX": ("KSPSAP_FLUX", "DET_FLUX"),
    "DET_FLUX": ("DET_FLUX", "KSPSAP_FLUX"),
}


def tess_filenames(tic,
                   base_dir: str,
                   sector: int = 1,
                   injected: bool = False,
                   inject_dir: str | None = None,
                   check_existence: bool = True) -> str | None:
  """Returns the h5 light-curve file name of a TESS target, or None if absent.

  Args:
    tic: TIC id (int or string).
    base_dir: Directory holding ``sector-{S}`` folders.
    sector: Sector number.
    injected: Return the injected light curve ``{inject_dir}/{tic}.lc`` instead.
    inject_dir: Directory of injected light curves.
    check_existence: Return None when the file does not exist.
  """
  tic = str(tic)
  if injected:
    if inject_dir is None:
      raise ValueError("inject_dir is required when injected=True")
    filename = os.path.join(inject_dir, tic + ".lc")
  else:
    filename = os.path.join(base_dir, "sector-" + str(sector), tic + ".h5")
  if not check_existence or os.path.exists(filename):
    return filename
  return None


def pipeline_of(path: str) -> str:
  """"spoc" or "qlp", from a TESS FITS light curve's file name.

  Raises:
    ConfigError: A name of neither (e.g. a Kepler kplr*.fits, a target pixel file).
  """
  name = os.path.basename(path)
  if name.startswith("hlsp_qlp_") and name.endswith("_llc.fits"):
    return "qlp"
  if name.startswith("tess") and name.endswith("s_lc.fits"):
    return "spoc"
  raise errors.ConfigError(
      "{} is not a TESS light curve by its name: SPOC files are tess*-s{{SSSS}}-{{TIC}}-*-s_lc"
      ".fits, QLP files hlsp_qlp_tess_ffi_s{{SSSS}}-{{TIC}}_tess_v01_llc.fits".format(path))


def fits_folders(tic, base_dir: str, sector: int, pipeline: str) -> list[str]:
  """Where the FITS light curve of a TIC and sector may be, in order: `base_dir` flat,
  `base_dir/s{SSSS}/`, and MAST's layouts (the 16-digit TIC split in four groups):
  SPOC `[tid/]s{SSSS}/{tid[0:4]}/.../{tid[12:16]}/`, QLP `[qlp/]s{SSSS}/...`."""
  tid = "{:016d}".format(int(tic))
  groups = [tid[i:i + 4] for i in range(0, 16, 4)]
  sector_dir = "s{:04d}".format(int(sector))
  top = {"spoc": "tid", "qlp": "qlp"}[pipeline]
  return [base_dir, os.path.join(base_dir, sector_dir),
          os.path.join(base_dir, sector_dir, *groups),
          os.path.join(base_dir, top, sector_dir, *groups)]


def fits_filename(tic, base_dir: str, sector: int, pipeline: str) -> str | None:
  """The SPOC or QLP FITS light curve of `tic` in `sector` under `base_dir` (see
  fits_folders), or None. Of several SPOC files (2-min and 20-s), the first by name."""
  pattern = FITS_PATTERNS[pipeline].format(sector=int(sector), tic=int(tic))
  for folder in fits_folders(tic, base_dir, sector, pipeline):
    found = sorted(glob.glob(os.path.join(folder, pattern)))
    if found:
      return found[0]
  return None


def fits_sectors(tic, base_dir: str, pipeline: str) -> dict[int, str]:
  """{sector: file} of every FITS light curve of `tic` under `base_dir` (the layouts
  of fits_folders, any sector), sorted by sector."""
  pattern = FITS_PATTERNS[pipeline].replace("{sector:04d}", "[0-9][0-9][0-9][0-9]").format(
      tic=int(tic))
  tid = "{:016d}".format(int(tic))
  groups = [tid[i:i + 4] for i in range(0, 16, 4)]
  top = {"spoc": "tid", "qlp": "qlp"}[pipeline]
  folders = [base_dir, os.path.join(base_dir, "s[0-9][0-9][0-9][0-9]"),
             os.path.join(base_dir, "s[0-9][0-9][0-9][0-9]", *groups),
             os.path.join(base_dir, top, "s[0-9][0-9][0-9][0-9]", *groups)]
  found = {}
  for folder in folders:
    for path in sorted(glob.glob(os.path.join(folder, pattern))):
      match = re.search(r"-s(\d{4})-|_s(\d{4})-", os.path.basename(path))
      sector = int(match.group(1) or match.group(2))
      found.setdefault(sector, path)
  return dict(sorted(found.items()))


def find_light_curve(tic, base_dir: str, sector: int, tess_format: str = "auto"
                     ) -> tuple[str | None, str]:
  """(path or None, format) of a TESS light curve: "h5" (Triage layout), "spoc" or
  "qlp"; `auto` takes the first that exists, in that order (by file name)."""
  if tess_format not in TESS_FORMATS:
    raise errors.ConfigError("--tess_format must be one of {}, got {!r}".format(
        TESS_FORMATS, tess_format))
  order = ("h5", "spoc", "qlp") if tess_format == "auto" else (tess_format,)
  for fmt in order:
    path = (tess_filenames(tic, base_dir, sector=sector) if fmt == "h5"
            else fits_filename(tic, base_dir, sector, fmt))
    if path is not None:
      return path, fmt
  return None, order[0]


def expected_location(tic, base_dir: str, sector: int, tess_format: str = "auto") -> str:
  """What a user should look for when find_light_curve finds nothing (for messages)."""
  if tess_format in ("auto", "h5"):
    names = [tess_filenames(tic, base_dir, sector=sector, check_existence=False)]
  else:
    names = []
  for pipeline in ("spoc", "qlp") if tess_format == "auto" else (
      (tess_format,) if tess_format != "h5" else ()):
    names.append(os.path.join(base_dir, "[...]", FITS_PATTERNS[pipeline].format(
        sector=int(sector), tic=int(tic))))
  return " or ".join(names)


def _h5_dataset(h5file, path: str, filename: str) -> np.ndarray:
  try:
    return np.array(h5file[path])
  except KeyError:
    raise errors.MissingFieldError(
        "HDF5 file {} has no dataset {!r}".format(filename, path), filename,
        path) from None


def read_tess_light_curve(filename: str,
                          flux_key: str = "KSPMagnitude",
                          invert: bool = False):
  """Reads time and magnitude from a Triage h5 light curve.

  Keeps cadences with QFLAG == 0 and a finite magnitude; files without QFLAG
  (sector 1) drop `SECTOR1_BAD_CADENCES` instead, as the original did.

  Args:
    filename: Path of the h5 file.
    flux_key: Dataset of the best aperture to read (magnitudes).
    invert: Multiply the magnitudes by -1.

  Returns:
    time: float64 array (BTJD, days).
    mag: Array of magnitudes.

  Raises:
    LightCurveFileError: Missing, truncated or corrupt file.
    MissingFieldError: Missing group, dataset or `bestap` attribute.
  """
  if not os.path.isfile(filename):
    raise errors.LightCurveFileError(
        "Light-curve file not found: {}".format(filename), filename)
  try:
    with h5py.File(filename, "r") as f:
      ap_group_path = "LightCurve/AperturePhotometry"
      if ap_group_path not in f:
        raise errors.MissingFieldError(
            "HDF5 file {} has no group {!r}".format(filename, ap_group_path),
            filename, ap_group_path)
      attrs = f[ap_group_path].attrs
      if "bestap" not in attrs:
        raise errors.MissingFieldError(
            "HDF5 file {}: group {!r} has no 'bestap' attribute".format(
                filename, ap_group_path), filename, "bestap")
      bestap = int(attrs["bestap"])
      time = _h5_dataset(f, "LightCurve/BJD", filename)
      mag = _h5_dataset(
          f, "{}/Aperture_{:03d}/{}".format(ap_group_path, bestap, flux_key),
          filename)
      qflag = (_h5_dataset(f, "LightCurve/QFLAG", filename)
               if "QFLAG" in f["LightCurve"] else None)
  except errors.AstronetError:
    raise
  except Exception as e:  # h5py raises OSError (truncated / not HDF5) etc.
    raise errors.LightCurveFileError(
        "Cannot read HDF5 file {} (truncated or corrupt?): {}: {}".format(
            filename, type(e).__name__, e), filename) from e

  if len(time) != len(mag) or (qflag is not None and len(qflag) != len(time)):
    raise errors.LightCurveFileError(
        "HDF5 file {}: BJD, {} and QFLAG lengths differ ({}, {}, {})".format(
            filename, flux_key, len(time), len(mag),
            None if qflag is None else len(qflag)), filename)

  if qflag is not None:
    keep = qflag == 0
  else:
    keep = np.ones(len(time), dtype=bool)
    keep[SECTOR1_BAD_CADENCES[SECTOR1_BAD_CADENCES < len(time)]] = False
  keep &= np.isfinite(mag) & np.isfinite(time)
  time, mag = time[keep], mag[keep]
  util.check_times(time, filename, "LightCurve/BJD")
  if invert:
    mag *= -1
  return time, mag


def read_tess_fits_light_curve(filename: str,
                               pipeline: str = "spoc",
                               flux_column: str | None = None,
                               quality_bitmask: int | None = None,
                               light_curve_extension: str = "LIGHTCURVE",
                               keep_flagged: bool = False):
  """Reads time and flux from a SPOC or QLP TESS FITS light curve.

  The one reader of TESS FITS light curves: the Astronet pipeline drops
  flagged cadences; the flare tools keep them (`keep_flagged`) and use the
  flag as a feature.

  Args:
    filename: Path of the FITS file.
    pipeline: "spoc" or "qlp".
    flux_column: Flux column; default PDCSAP_FLUX (spoc) or KSPSAP_FLUX/DET_FLUX
      (qlp). Must be one of the pipeline's `FLUX_COLUMNS`.
    quality_bitmask: Cadences with QUALITY & quality_bitmask != 0 are dropped;
      None drops every flagged cadence (QUALITY != 0).
    light_curve_extension: Name of the table extension.
    keep_flagged: Keep the finite cadences that `quality_bitmask` flags (in file
      order), marked in metadata["flagged"].

  Returns:
    time: float64 array (BTJD, days).
    flux: Array of flux values (e-/s for SPOC, relative for QLP).
    metadata: dict with pipeline, flux_column (the column read), num_cadences,
      num_kept, sector and tic_id (from the primary header, None if absent),
      flagged (bool array aligned with time: the cadence is flagged).

  Raises:
    LightCurveFileError / MissingFieldError: Unreadable file, missing column.
    EmptyLightCurveError: No finite, unflagged cadence.
    ConfigError (a ValueError): Unknown pipeline or flux column.
  """
  if pipeline not in FLUX_COLUMNS:
    raise errors.ConfigError("pipeline must be one of {}. Got: {!r}".format(
        sorted(FLUX_COLUMNS), pipeline))
  flux_column = flux_column or FLUX_COLUMNS[pipeline][0]
  if flux_column not in FLUX_COLUMNS[pipeline]:
    raise errors.ConfigError("flux_column for {} must be one of {}. Got: {!r}".format(
        pipeline, FLUX_COLUMNS[pipeline], flux_column))
  flux_request = _FLUX_COLUMN_ALIASES.get(flux_column, flux_column)
  table = fits_io.read_fits_columns(
      filename, light_curve_extension, ["TIME", flux_request, "QUALITY"],
      header_keys=["SECTOR", "TICID"])
  time = table.columns["TIME"]
  flux = table.columns[flux_column]
  quality = table.columns["QUALITY"]
  flagged = quality != 0 if quality_bitmask is None else (
      quality & quality_bitmask) != 0
  finite = np.isfinite(time) & np.isfinite(flux)
  if not np.any(finite & ~flagged):
    raise errors.EmptyLightCurveError(
        "No finite, unflagged TIME/{} values in {} ({} cadences)".format(
            table.resolved[flux_column], filename, len(time)))
  keep = finite if keep_flagged else finite & ~flagged
  util.check_times(time[keep], filename)
  metadata = {
      "pipeline": pipeline,
      "flux_column": table.resolved[flux_column],
      "num_cadences": int(len(time)),
      "num_kept": int(np.sum(keep)),
      "sector": table.header["SECTOR"],
      "tic_id": table.header["TICID"],
      "flagged": flagged[keep],
  }
  return time[keep], flux[keep], metadata
