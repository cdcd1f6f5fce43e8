"""`make demo` path: the demo runs end to end on the bundled Kepler-90 data."""

import numpy as np

from astronet import demo
from tests.conftest import KEPLER90I, KEPLER_FITS_DIR


def test_demo_writes_golden_views_and_figures(tmp_path, golden_kepler90i, capsys):
  views = demo.run(str(KEPLER_FITS_DIR), str(tmp_path), 11442793, **KEPLER90I)
  written = np.load(tmp_path / "kic11442793_p14.4491_views.npz")
  for name in ("global_view", "local_view"):
    np.testing.assert_array_equal(written[name], views[name])
    assert np.max(np.abs(written[name] - golden_kepler90i[name])) <= 1e-5
  for png in ("kic11442793_p14.4491_views.png", "kic11442793_detrended.png"):
    assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  assert not list(tmp_path.glob("*.tmp*"))  # atomic writes left no temp file
  assert "global_view   2001 bins" in capsys.readouterr().out
