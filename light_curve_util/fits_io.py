"""Checked reading of binary-table columns from FITS light-curve files.

Shared by the Kepler and TESS readers so that a missing file, a truncated or
corrupt file, a missing extension or a missing column always gives one clear
error naming the file and the field.

Light-curve files are plain binary tables, and astropy spends most of a read
building header and column objects (~8 ms of a Kepler quarter, 15 % of a
Kepler TCE's views). `read_fits_columns` therefore first reads the file
directly as the FITS standard lays it out — 2880-byte blocks of 80-character
header cards, big-endian rows of NAXIS1 bytes — for the common case: the
requested columns are scalar integers or floats without TSCAL/TZERO, the
header values are plain numbers, strings or logicals. Anything else (other
column kinds, a truncated or malformed file, a missing extension or column)
goes through astropy, which gives the same arrays and the errors below.
"""

from __future__ import annotations

import os
import re
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


_BLOCK = 2880  # FITS block (bytes)
_CARD = 80  # header card (bytes)
# TFORM codes read directly: big-endian integers and floats.
_DIRECT_FORMATS = {"B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8"}
# Bytes per element of every TFORM code ("X" is bits, "P"/"Q" heap descriptors).
_FORMAT_BYTES = {"L": 1, "B": 1, "I": 2, "J": 4, "K": 8, "A": 1, "E": 4, "D": 8, "C": 8,
                 "M": 16, "P": 8, "Q": 16}
_TFORM = re.compile(r"^\s*(\d*)([A-Z])")
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([EeDd][+-]?\d+)?$")


class _Unsupported(Exception):
  """The direct reader does not handle this file: astropy reads it."""


def _header_cards(buf: bytes, start: int) -> tuple[dict[str, bytes], int]:
  """{keyword: raw value field} of the header at `start`, and where its data begins."""
  cards: dict[str, bytes] = {}
  position = start
  while True:
    block = buf[position:position + _BLOCK]
    if len(block) < _BLOCK:
      raise _Unsupported("truncated header")
    position += _BLOCK
    for offset in range(0, _BLOCK, _CARD):
      card = block[offset:offset + _CARD]
      keyword = card[:8].rstrip()
      if keyword == b"END":
        return cards, position
      if card[8:10] == b"= ":
        cards.setdefault(keyword.decode("ascii", "replace"), card[10:])


def _value(field: bytes | None):
  """The value of a header card (None if absent); _Unsupported if not plain."""
  if field is None:
    return None
  text = field.decode("ascii", "replace").strip()
  if text.startswith("'"):
    match = re.match(r"^'((?:[^']|'')*)'", text)
    if not match:
      raise _Unsupported("string value")
    return match.group(1).replace("''", "'").rstrip()
  token = text.split("/", 1)[0].strip()
  if token in ("T", "F"):
    return token == "T"
  if _INT.match(token):
    return int(token)
  if _FLOAT.match(token):
    return float(token.replace("D", "E").replace("d", "e"))
  raise _Unsupported("value {!r}".format(token))


def _data_bytes(cards: dict[str, bytes]) -> int:
  """Size of an HDU's data (with its heap), padded to whole blocks."""
  naxis = _value(cards.get("NAXIS")) or 0
  elements = 0
  if naxis:
    elements = 1
    for axis in range(1, naxis + 1):
      elements *= _value(cards.get("NAXIS{}".format(axis)))
  pcount = _value(cards.get("PCOUNT")) or 0
  gcount = _value(cards.get("GCOUNT")) or 1
  size = abs(_value(cards.get("BITPIX"))) // 8 * gcount * (pcount + elements)
  return -(-size // _BLOCK) * _BLOCK


def _read_direct(filename: str, extension: str, columns: Sequence[ColumnRequest],
                 header_keys: Sequence[str]) -> FitsTable:
  """read_fits_columns without astropy; _Unsupported where astropy must read it."""
  with open(filename, "rb") as f:
    buf = f.read()
  if not buf.startswith(b"SIMPLE  ="):
    raise _Unsupported("not a FITS primary header")
  primary, position = _header_cards(buf, 0)
  header = {key: _value(primary.get(key)) for key in header_keys}
  position += _data_bytes(primary)
  wanted = extension.strip().upper()
  while True:
    if position >= len(buf):
      raise _Unsupported("no extension {!r}".format(extension))
    cards, data_start = _header_cards(buf, position)
    name = _value(cards.get("EXTNAME"))
    if isinstance(name, str) and name.strip().upper() == wanted:
      break
    position = data_start + _data_bytes(cards)
  if _value(cards.get("XTENSION")) != "BINTABLE":
    raise _Unsupported("not a binary table")
  row_bytes, num_rows = _value(cards.get("NAXIS1")), _value(cards.get("NAXIS2"))
  fields = {}  # column name -> (format, offset in a row, number)
  offset = 0
  for number in range(1, _value(cards.get("TFIELDS")) + 1):
    form = _TFORM.match(_value(cards.get("TFORM{}".format(number))) or "")
    if not form or form.group(2) not in _FORMAT_BYTES and form.group(2) != "X":
      raise _Unsupported("TFORM")
    repeat, code = int(form.group(1) or 1), form.group(2)
    name = _value(cards.get("TTYPE{}".format(number)))
    if isinstance(name, str):
      fields.setdefault(name, (code, repeat, offset, number))
    offset += (repeat + 7) // 8 if code == "X" else repeat * _FORMAT_BYTES[code]
  if offset != row_bytes or data_start + row_bytes * num_rows > len(buf):
    raise _Unsupported("row layout or truncated table")
  names, formats, offsets, out_names, resolved = [], [], [], [], {}
  for request in columns:
    options = (request,) if isinstance(request, str) else tuple(request)
    found = next((n for n in options if n in fields), None)
    if found is None:
      raise _Unsupported("no column")
    code, repeat, column_offset, number = fields[found]
    if (code not in _DIRECT_FORMATS or repeat != 1 or "TSCAL{}".format(number) in cards
        or "TZERO{}".format(number) in cards):
      raise _Unsupported("column {} needs astropy".format(found))
    names.append("f{}".format(len(names)))
    formats.append(_DIRECT_FORMATS[code])
    offsets.append(column_offset)
    out_names.append(options[0])
    resolved[options[0]] = found
  rows = np.frombuffer(buf, np.dtype({"names": names, "formats": formats, "offsets": offsets,
                                      "itemsize": row_bytes}), count=num_rows, offset=data_start)
  out = {out_name: _native(rows[name]) for out_name, name in zip(out_names, names)}
  return FitsTable(out, resolved, header)


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
    return _read_direct(filename, extension, columns, header_keys)
  except (_Unsupported, ValueError, TypeError, KeyError, OSError):
    pass  # astropy reads it, or explains what is wrong with it.
  return read_fits_columns_astropy(filename, extension, columns, header_keys)


def read_fits_columns_astropy(filename: str, extension: str, columns: Sequence[ColumnRequest],
                              header_keys: Sequence[str] = ()) -> FitsTable:
  """read_fits_columns through astropy (every FITS file astropy reads)."""
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
