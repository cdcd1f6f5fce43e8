"""Checked reading of binary-table columns from FITS light-curve files.

Shared by the Kepler and TESS readers so that a missing file, a truncated or
corrupt file, a missing extension or a missing column always gives one clear
error naming the file and the field.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from astropy.io import fits

from tf_util import errors

# A column request is a name, or a tuple of alternative names (first found wins).
ColumnRequest = str | tuple[str, ...]


class FitsTable(NamedTuple):
  """Columns read from one extension of a FITS file.

  Attributes:
    columns: Arrays in native byte order, keyed by the first name of each request.
    resolved: For each request (first name), the column actually read.
    header: Requested PRIMARY-header keywords (None where absent).
  """
  columns: dict[str, np.ndarray]
  resolved: dict[str, str]
  header: dict[str, object]


def _native(array: np.ndarray) -> np.ndarray:
  """Copy in native byte order, same dtype kind and size (FITS is big-endian)."""
  return np.array(array, dtype=array.dtype.newbyteorder("="))


def read_fits_columns(filename: str,
                      extension: str,
                      columns: Sequence[ColumnRequest],
                      header_keys: Sequence[str] = ()) -> FitsTable:
  """Reads table columns (and PRIMARY-header keywords) from a FITS file.

  Args:
    filename: Path of the FITS file.
    extension: Name of the binary-table extension (e.g. "LIGHTCURVE").
    columns: Column names, or tuples of alternative names.
    header_keys: PRIMARY-header keywords to return.

  Returns:
    A `FitsTable`.

  Raises:
    LightCurveFileError: Missing, truncated or corrupt file.
    MissingFieldError: Missing extension or column.
  """
  if not os.path.isfile(filename):
    raise errors.LightCurveFileError(
        "Light-curve file not found: {}".format(filename), filename)
  try:
    # memmap=False: a truncation inside the table raises here rather than
    # later; astropy only logs a warning when an unused trailing HDU is cut.
    with fits.open(filename, memmap=False) as hdu_list:
      header = {key: hdu_list[0].header.get(key) for key in header_keys}
      try:
        hdu = hdu_list[extension]
      except KeyError:
        names = [h.name for h in hdu_list]
        raise errors.MissingFieldError(
            "FITS file {} has no extension {!r} (it has {})".format(
                filename, extension, names), filename, extension) from None
      if not isinstance(hdu, (fits.BinTableHDU, fits.TableHDU)):
        raise errors.MissingFieldError(
            "FITS file {}: extension {!r} is a {}, not a table".format(
                filename, extension, type(hdu).__name__), filename, extension)
      data = hdu.data
      available = list(data.columns.names) if data is not None else []
      out, resolved = {}, {}
      for request in columns:
        names = (request,) if isinstance(request, str) else tuple(request)
        found = next((n for n in names if n in available), None)
        if found is None:
          raise errors.MissingFieldError(
              "FITS file {}, extension {!r}: no column {} (columns: {})".format(
                  filename, extension, " or ".join(repr(n) for n in names),
                  available), filename, names[0])
        out[names[0]] = _native(data[found])
        resolved[names[0]] = found
  except errors.AstronetError:
    raise
  except Exception as e:  # astropy raises OSError, ValueError, TypeError...
    raise errors.LightCurveFileError(
        "Cannot read FITS file {} (truncated or corrupt?): {}: {}".format(
            filename, type(e).__name__, e), filename) from e
  return FitsTable(out, resolved, header)
