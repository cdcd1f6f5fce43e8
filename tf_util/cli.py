"""How every script of the project starts, parses its flags and fails.

`run(main, define_flags)` replaces `absl.app.run(main)` in each script:

* the flags the script defines (also those it takes from shared helpers such
  as astronet.util.script_flags) are listed by `--help`, not only by
  `--helpfull` (absl lists only the flags defined in the main module);
* a bad flag value (unknown flag, wrong type, out of range, a failed
  validator) is one line on stderr and exit status 2, before `main` runs, so
  nothing is written by a rejected run;
* an exception that reaches `main`'s caller is one line on stderr,
  "<script>: error: <message>", never a traceback: exit status 2 for bad input
  (the project's errors, missing/unreadable files, bad values, corrupt
  records), 1 for a failure of the run (out of disk space, a bug). Set
  ASTRONET_TRACEBACK=1 to get the traceback too;
* `import tensorflow` (only for scripts that need it, after the flags are
  parsed: `--help` never imports TensorFlow) happens with the start-up lines
  that are noise on a machine without a GPU removed (oneDNN, cpu_feature_guard,
  "Could not find cuda drivers", the failed cuInit, ...). Every other line TF
  prints, warnings and errors included, is kept. Set ASTRONET_TF_LOG=1 for
  TensorFlow's full log.

Library functions keep raising; only scripts use this module.
"""

from __future__ import annotations

import errno
import os
import re
import sys
import tempfile
import traceback
from collections.abc import Callable

from absl import app
from absl import flags

from tf_util import errors

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2

# Start-up lines of TensorFlow (2.16-2.21) that carry no information on a
# machine without a GPU; TensorFlow prints them from C++ before its log level
# is read, so TF_CPP_MIN_LOG_LEVEL cannot hide them.
_TF_NOISE = re.compile("|".join([
    r"All log messages before absl::InitializeLog\(\) is called",
    r"oneDNN custom operations are on",
    r"cudart_stub\.cc.*Could not find cuda drivers",
    r"cpu_feature_guard\.cc",
    r"^To enable the following instructions:",
    r"failed call to cuInit",
    r"Unable to register cu(DNN|FFT|BLAS) factory",
    r"computation placer already registered",
    r"TF-TRT Warning: Could not find TensorRT",
]))

_TF_OPERATIONAL_ERRORS = ("DataLossError", "InvalidArgumentError", "NotFoundError",
                          "OutOfRangeError", "FailedPreconditionError", "PermissionDeniedError")


def is_tf_noise(line: str) -> bool:
  """Whether `line` of TensorFlow's start-up output is noise (see module docstring)."""
  return bool(_TF_NOISE.search(line))


def import_tensorflow():
  """`import tensorflow` with the start-up noise removed from stderr; returns the module."""
  if "tensorflow" in sys.modules or os.environ.get("ASTRONET_TF_LOG"):
    import tensorflow as tf  # noqa: PLC0415  (TensorFlow, kept out of the import of this module)
    return tf
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile() as captured:
    os.dup2(captured.fileno(), 2)
    try:
      import tensorflow as tf  # noqa: PLC0415  (TensorFlow, kept out of the import of this module)
      # Device discovery is where the failed cuInit is logged.
      tf.config.list_physical_devices()
    finally:
      sys.stderr.flush()
      os.dup2(saved, 2)
      os.close(saved)
      captured.seek(0)
      kept = [line for line in captured.read().decode("utf-8", "replace").splitlines()
              if line.strip() and not is_tf_noise(line)]
      if kept:
        sys.stderr.write("\n".join(kept) + "\n")
  return tf


def _program() -> str:
  return os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "astronet"


def fail(message: str, status: int = EXIT_BAD_INPUT) -> None:
  """Prints '<script>: error: <message>' to stderr and exits with `status`."""
  sys.stderr.flush()
  sys.stderr.write("{}: error: {}\n".format(_program(), message))
  sys.stderr.flush()
  sys.exit(status)


def describe(exc: BaseException) -> tuple[str, int]:
  """(one-line message, exit status) for an exception that reached a script's top."""
  if isinstance(exc, app.UsageError):
    return "{} (see --help)".format(exc), EXIT_BAD_INPUT
  if isinstance(exc, errors.AstronetError):
    return str(exc), EXIT_BAD_INPUT
  if isinstance(exc, OSError):
    filename = getattr(exc, "filename", None)
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
      return "out of disk space writing {}".format(filename or "an output file"), EXIT_FAILURE
    if exc.errno == errno.EROFS or isinstance(exc, PermissionError):
      return "cannot write or read {}: {}".format(filename, reason), EXIT_BAD_INPUT
    if filename:
      return "{}: {}".format(filename, reason), EXIT_BAD_INPUT
    return str(exc), EXIT_BAD_INPUT
  if isinstance(exc, (ValueError, KeyError)):
    message = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return message, EXIT_BAD_INPUT
  if "tensorflow" in sys.modules:
    tf = sys.modules["tensorflow"]
    if isinstance(exc, tf.errors.OpError):
      first = (exc.message or str(exc)).strip().splitlines()[0]
      status = EXIT_BAD_INPUT if type(exc).__name__ in _TF_OPERATIONAL_ERRORS else EXIT_FAILURE
      return first, status
  if isinstance(exc, MemoryError):
    return "out of memory", EXIT_FAILURE
  name = type(exc).__name__
  if name in ("YAMLError", "ScannerError", "ParserError") or name.endswith("YAMLError"):
    return "invalid YAML: {}".format(str(exc).splitlines()[0]), EXIT_BAD_INPUT
  return ("internal error ({}: {}); set ASTRONET_TRACEBACK=1 for the traceback".format(
      name, str(exc).splitlines()[0] if str(exc) else ""), EXIT_FAILURE)


def _flags_parser(known_only: bool):
  def parse(argv: list[str]) -> list[str]:
    try:
      return flags.FLAGS(argv, known_only=known_only)
    except flags.Error as e:
      fail("{} (see --help)".format(e))
    return []  # not reached
  return parse


def _adopt_flags(names: set[str]) -> None:
  """Makes the flags `names` key flags of the main module (so --help lists them)."""
  main_module = sys.argv[0]
  for name in sorted(names):
    flags.FLAGS.register_key_flag_for_module(main_module, flags.FLAGS[name])


def guarded(main: Callable[[list[str]], int | None], tensorflow: bool = False):
  """`main` with the project's error handling (see module docstring)."""
  def wrapped(argv):
    try:
      if tensorflow:
        import_tensorflow()
      return main(argv)
    except KeyboardInterrupt:
      fail("interrupted", 130)
    except SystemExit:
      raise
    except BaseException as e:  # pylint: disable=broad-except
      if os.environ.get("ASTRONET_TRACEBACK"):
        traceback.print_exc()
      message, status = describe(e)
      fail(message, status)
    return None
  return wrapped


def run(main: Callable[[list[str]], int | None],
        define_flags: Callable[[], None] | None = None, tensorflow: bool = False,
        known_only: bool = False) -> None:
  """Defines the script's flags, parses them and runs `main` (see module docstring).

  Args:
    main: The script's main(argv); its return value is the exit status.
    define_flags: Defines the script's flags (called once, here).
    tensorflow: Import TensorFlow (quietly) before `main`, after the flags.
    known_only: Pass unknown flags on to `main` (Beam's pipeline options).
  """
  before = set(flags.FLAGS)
  if define_flags is not None:
    define_flags()
  _adopt_flags(set(flags.FLAGS) - before)
  app.run(guarded(main, tensorflow), flags_parser=_flags_parser(known_only))
