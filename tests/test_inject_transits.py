"""inject_transits: seeded draws, injection before processing, labelled records."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from astronet import missions
from astronet.data import injections
from astronet.data import preprocess
from astronet.data import record_generation as gir
from astronet.data import records
from astronet.data import tce_table
from tf_util import example_util


@pytest.fixture(scope="module")
def stars(test_data):
  return tce_table.read_tess_tce_table(str(test_data / "triage" / "synthetic_tces.csv"))


def draw(stars, seed=7, shape="box"):
  return injections.draw_injections(
      stars, missions.TESS, num_injections=4, injected_fraction=0.5,
      period_range=(1.5, 6.0), duration_range_hours=(2.0, 4.0),
      depth_range_ppm=(20000, 30000), shape=shape, seed=seed)


def test_draws_are_seeded_and_valid(stars):
  table = draw(stars)
  pd.testing.assert_frame_equal(table, draw(stars))
  assert not table.equals(draw(stars, seed=8))
  assert len(table) == 12 and table["row_id"].tolist() == list(range(12))
  assert set(table["Disposition"]) == {"PC", "J"}
  assert (table["Disposition"] == "PC").tolist() == table["injected"].tolist()
  assert table["Period"].between(1.5, 6.0).all()
  assert (table["Duration"] * 24).between(2.0, 4.0).all()  # days in the table
  np.testing.assert_array_equal(table["Period"], table["inj_period"])


def read_all(out_dir, names):
  examples = []
  for name in names:
    examples += [tf.train.Example.FromString(r.numpy())
                 for r in tf.data.TFRecordDataset(str(out_dir / name))]
  return examples


@pytest.mark.parametrize("shape", ["box", "limb_darkened"])
def test_injected_records_show_the_transit(stars, test_data, tmp_path, shape):
  table = draw(stars, shape=shape)
  config = records.RecordConfig("tess", str(test_data / "triage" / "lightcurves"),
                                trim_multisector=False, inject_transits=True)
  partitions = tce_table.partition_tces(table, num_train_shards=2)
  results = gir.generate_records(partitions, config, str(tmp_path / "a"))
  assert sum(r.num_written for r in results) == 12
  examples = read_all(tmp_path / "a", [p.name for p in partitions])
  centre_injected, centre_plain = [], []
  for ex in examples:
    local = example_util.get_float_feature(ex, "local_view")
    centre = local[29:32].mean()  # the 61-bin local view is centred on t0
    injected = example_util.get_float_feature(ex, "injected")[0] == 1.0
    label = example_util.get_bytes_feature(ex, "Disposition")[0]
    assert label == (b"PC" if injected else b"J")
    (centre_injected if injected else centre_plain).append(centre)
  assert min(len(centre_injected), len(centre_plain)) >= 3
  assert max(centre_injected) < -0.7        # the injected dip, at the centre
  assert min(centre_plain) > max(centre_injected)
  # Reproducible: the same draws give byte-identical shards.
  gir.generate_records(partitions, config, str(tmp_path / "b"))
  for p in partitions:
    assert (tmp_path / "a" / p.name).read_bytes() == (tmp_path / "b" / p.name).read_bytes()


def test_injection_survives_kepler_detrending(test_data):
  # Kepler-90 raw PDCSAP flux, an injected 3000 ppm box at a period with no planet:
  # after the spline, the global view has its minimum at the centre.
  mission = missions.KEPLER
  tce = {"kepid": 11442793, "tce_period": 4.7, "tce_time0bk": 131.3,
         "tce_duration": 0.15, "injected": True, "inj_period": 4.7, "inj_t0": 131.3,
         "inj_duration": 0.15, "inj_depth_ppm": 3000.0, "inj_impact": 0.0,
         "inj_shape": "box", "inj_u1": 0.4, "inj_u2": 0.25}
  time, flux = preprocess.read_and_process_tce(
      tce, mission, str(test_data / "kepler" / "fits"),
      injection=records.injection_from_row(tce))
  views = records.compute_views(time, flux, tce, mission)
  local = views["local_view"]  # 201 bins over +-4 durations: the box spans ~25 bins
  assert local[92:109].max() < -0.8 and abs(local[:60].mean()) < 0.1
  in_transit = np.abs(np.mod(time - 131.3 + 2.35, 4.7) - 2.35) < 0.05
  assert np.median(flux[in_transit]) == pytest.approx(1 - 3000e-6, abs=4e-4)
