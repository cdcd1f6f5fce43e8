"""`make demo` path: every step runs end to end on the bundled real data."""

import numpy as np

from astronet import demo
from astronet import demo_views
from tests.conftest import KEPLER90I
from tests.conftest import KEPLER_FITS_DIR
from tf_util import atomic_io


def test_kepler90_views_match_the_original(tmp_path, golden_kepler90i, capsys):
  views = demo_views.kepler90_views(str(KEPLER_FITS_DIR), str(tmp_path), 11442793, **KEPLER90I)
  written = np.load(tmp_path / "kic11442793_p14.4491_views.npz")
  for name in ("global_view", "local_view"):
    np.testing.assert_array_equal(written[name], views[name])
    assert np.max(np.abs(written[name] - golden_kepler90i[name])) <= 1e-5
  for png in ("kic11442793_p14.4491_views.png", "kic11442793_detrended.png"):
    assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  # Atomic writes left no temporary file (hidden .NAME.tmp-PID names).
  assert not [p for p in tmp_path.iterdir() if atomic_io.is_temporary(p.name)]
  assert "global_view   2001 bins" in capsys.readouterr().out


def test_demo_workflow_end_to_end(tmp_path, capsys):
  result = demo.run(str(tmp_path), str(KEPLER_FITS_DIR), num_models=2, train_steps=3)
  # The three bundled TESS TCEs became records and got one prediction each.
  assert sorted(result["predictions"]) == [100000001, 100000002, 100000003]
  assert all(0 <= p <= 1 for p in result["predictions"].values())
  assert result["val_metrics"]["num_examples"] == 160
  # ... and one from the shipped model (--pretrained), which is not the demo's 3-step ensemble.
  assert sorted(result["pretrained_predictions"]) == [100000001, 100000002, 100000003]
  assert result["pretrained_predictions"] != result["predictions"]
  for name in ("ensemble/model_1/model.keras", "ensemble/model_2/model.keras", "ensemble.keras",
               "true_vs_pred_val.txt", "roc_val.png", "kic11442793_p14.4491_views.png"):
    assert (tmp_path / name).stat().st_size > 0, name
  assert len(list((tmp_path / "plots_new_tces").glob("*.png"))) == 3
  # The shipped flare transformer on a real TESS sector: a CSV with its measurements + figure.
  with open(result["flares_csv"]) as f:
    header = f.readline().strip().split(",")
  assert header[:4] == ["start_time", "end_time", "peak_time", "max_probability"]
  assert "ed_s" in header and (tmp_path / "flares.png").stat().st_size > 10000
  out = capsys.readouterr().out
  assert "$ " in out and "Threshold 0.5" in out and "AUC=" in out
