"""lightkurve objects in: the same views as reading the same FITS from disk."""

import pathlib

import numpy as np
import pytest

import astronet
from astronet.data import preprocess
from astronet.data import tce_views
from tests.conftest import KEPLER_FITS_DIR
from tf_util import errors

lk = pytest.importorskip("lightkurve")  # the `lightkurve` extra; `make test` installs it

ROOT = pathlib.Path(__file__).resolve().parent.parent
TESS_FITS = ROOT / "tests" / "data" / "tess" / "tess2018349182459-s0006-0000000219423316-0126-s_lc.fits"
KEPLER90_I = (11442793, 14.44912, 2.2, 0.11267)  # KIC, period, t0 (BKJD), duration (days)


def test_kepler_lightcurve_collection_gives_the_disk_views(kepler90_files):
  # The Kepler pipeline, as the original, does not mask QUALITY: read it all.
  collection = lk.LightCurveCollection([lk.read(f, quality_bitmask="none")
                                        for f in kepler90_files])
  kic, period, t0, duration = KEPLER90_I
  from_lk = preprocess.views_from_lightcurve(collection, period, t0, duration, "kepler")
  from_disk = tce_views.process_tce(kic, period, t0, duration, "kepler", str(KEPLER_FITS_DIR))
  for name in ("global_view", "local_view"):
    assert from_lk[name].shape == from_disk[name].shape
    assert np.max(np.abs(from_lk[name] - from_disk[name])) <= 1e-5, name


def test_tess_spoc_lightcurve_gives_the_disk_views_and_a_prediction(tmp_path):
  lc = lk.read(str(TESS_FITS))  # lightkurve's default bitmask = the SPOC reader's
  start = float(np.nanmin(lc.time.value))
  period, t0, duration = 1.7, start + 0.6, 0.08
  from_lk = preprocess.views_from_lightcurve(lc, period, t0, duration, "tess")
  from_disk = tce_views.process_tce(219423316, period, t0, duration, "tess",
                                    str(TESS_FITS.parent), 6, tess_format="spoc")
  for name in ("global_view", "local_view"):
    assert np.max(np.abs(from_lk[name] - from_disk[name])) <= 1e-5, name
  # The same through the one-call API, with a shipped model; arrays work too.
  p = astronet.predict_lightcurve("triage", lc, period, t0, duration)
  assert 0.0 <= p <= 1.0
  class Arrays:  # anything with .time and .flux
    time, flux = lc.time.value, lc.flux.value
  assert astronet.predict_lightcurve("triage", Arrays(), period, t0, duration) == \
      pytest.approx(p, abs=1e-6)
  with pytest.raises(errors.CheckpointError, match="takes tess views, not kepler"):
    astronet.predict_lightcurve("triage", lc, period, t0, duration, mission="kepler")
  with pytest.raises(errors.InvalidTCEError, match="Not a light curve"):
    preprocess.views_from_lightcurve(42, period, t0, duration)
