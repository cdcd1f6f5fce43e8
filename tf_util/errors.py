"""The project's exceptions, in one module.

Every error raised for bad input derives from `AstronetError`, so batch jobs can
catch one class, log the message (which always names the offending file, field
or value) and move on to the next TCE. Each class also derives from the builtin
exception that code written against the originals may already catch
(`IOError`, `ValueError`).
"""

from __future__ import annotations


class AstronetError(Exception):
  """Base class of every error raised by astronet-tf2 for bad input."""


class FileProblemError(AstronetError, IOError):
  """A file or folder (named in `filename`) cannot be used."""

  def __init__(self, message: str, filename: str | None = None):
    super().__init__(message)
    self.filename = filename

  def __str__(self) -> str:
    # OSError would format "[Errno None] None: <filename>" once filename is set.
    return str(self.args[0])


class LightCurveFileError(FileProblemError):
  """A light-curve file is missing, unreadable, truncated or corrupt."""


class MissingFieldError(LightCurveFileError):
  """A file lacks a required extension, column, HDF5 dataset or attribute."""

  def __init__(self, message: str, filename: str | None = None,
               field: str | None = None):
    super().__init__(message, filename)
    self.field = field


class EmptyLightCurveError(AstronetError, ValueError):
  """A light curve has no usable (finite) points."""


class SparseLightCurveError(AstronetError, ValueError):
  """Too few points, or too little time coverage, in the window of a view."""


class InvalidTCEError(AstronetError, ValueError):
  """A TCE parameter is out of range (non-positive period, duration >= period...)."""


class BinningError(AstronetError, ValueError):
  """Invalid binning arguments (num_bins, bin_width, x_min/x_max, lengths)."""


class DegenerateViewError(AstronetError, ValueError):
  """A view cannot be normalised (flat or non-finite after binning)."""


class RecordFormatError(AstronetError, ValueError):
  """A TFRecord file is unreadable or its examples do not fit the config."""


class CatalogError(AstronetError, ValueError):
  """A TCE catalog (CSV) lacks columns or has rows with unusable values.

  The message lists the offending rows (line numbers and values).
  """


class CheckpointError(AstronetError, ValueError):
  """A checkpoint or model directory does not fit the model being built
  (missing or misshaped variables, another model's config)."""


class OutputError(FileProblemError):
  """An output location cannot be written (read-only, not a directory, in use, ...)."""


class OutputBusyError(OutputError):
  """Another live run holds the lock of an output directory."""


class ConfigError(AstronetError, ValueError):
  """A flag, config value, config override or YAML key is of the wrong type or range."""


class MissingFeatureError(AstronetError, KeyError):
  """A tf.train.Example lacks a feature (a KeyError, as the originals' example_util)."""

  def __str__(self) -> str:
    return str(self.args[0])
