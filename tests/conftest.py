"""Shared test fixtures.

Small real inputs live in tests/data (copied from ../shared/fixtures). Tests that
need the large fixtures (checkpoints, full record shards) use `shared_fixtures`,
which points at ../shared/fixtures (override with ASTRONET_SHARED_FIXTURES) and
skips when it is absent.
"""

import json
import os
import pathlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
TEST_DATA = ROOT / "tests" / "data"
KEPLER_FITS_DIR = TEST_DATA / "kepler" / "fits"
KEPLER90_ID = 11442793
# Kepler-90 i, from the exoplanet-ml README (days, BKJD).
KEPLER90I = dict(period=14.44912, t0=2.2, duration=0.11267)


@pytest.fixture(scope="session")
def test_data() -> pathlib.Path:
  return TEST_DATA


@pytest.fixture(scope="session")
def shared_fixtures() -> pathlib.Path:
  path = pathlib.Path(
      os.environ.get("ASTRONET_SHARED_FIXTURES", ROOT.parent / "shared" / "fixtures"))
  if not path.is_dir():
    pytest.skip("shared fixtures not found at {}".format(path))
  return path


@pytest.fixture(scope="session")
def golden_functions():
  return np.load(TEST_DATA / "kepler" / "golden_functions.npz")


@pytest.fixture(scope="session")
def golden_functions_meta():
  return json.loads((TEST_DATA / "kepler" / "golden_functions.json").read_text())


@pytest.fixture(scope="session")
def golden_kepler90i():
  return np.load(TEST_DATA / "kepler" / "golden_kepler90i.npz")


@pytest.fixture(scope="session")
def golden_kepler90i_meta():
  return json.loads((TEST_DATA / "kepler" / "golden_kepler90i.json").read_text())


@pytest.fixture(scope="session")
def kepler90_files():
  from light_curve_util import kepler_io
  return kepler_io.kepler_filenames(str(KEPLER_FITS_DIR), KEPLER90_ID)


def run_local_workers(command: list, cwd, num_workers: int = 2, timeout: int = 600) -> list:
  """Runs `command` as the workers of a TF_CONFIG cluster on localhost ports.

  Returns (returncode, stdout, stderr) per worker, in task-index order.
  """
  import socket  # pylint: disable=import-outside-toplevel
  import subprocess  # pylint: disable=import-outside-toplevel
  sockets = [socket.socket() for _ in range(num_workers)]
  for sock in sockets:
    sock.bind(("localhost", 0))
  cluster = {"worker": ["localhost:{}".format(sock.getsockname()[1]) for sock in sockets]}
  for sock in sockets:
    sock.close()
  procs = []
  for index in range(num_workers):
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2",
               TF_CONFIG=json.dumps({"cluster": cluster,
                                     "task": {"type": "worker", "index": index}}))
    procs.append(subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True))
  outputs = [proc.communicate(timeout=timeout) for proc in procs]
  return [(proc.returncode, out, err) for proc, (out, err) in zip(procs, outputs)]

