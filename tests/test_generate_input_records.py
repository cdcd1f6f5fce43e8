"""Record generation: parity with the original's records, split, failures, resume, spawn."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from astronet import missions
from astronet.data import preprocess
from astronet.data import record_generation as gir
from astronet.data import records
from astronet.data import tce_table
from tests.conftest import ROOT
from tf_util import errors
from tf_util import example_util

GOLDEN_DIRS = {
    # golden dir -> (clean, make_test_set), as in each folder's COMMAND.txt.
    "golden_records": (False, False),
    "golden_records_clean": (True, False),
    "golden_records_testset": (False, True),
}


def read_examples(path):
  return [tf.train.Example.FromString(r.numpy())
          for r in tf.data.TFRecordDataset(str(path))]


def feature_dict(ex):
  out = {}
  for name, feature in ex.features.feature.items():
    kind = feature.WhichOneof("kind")
    out[name] = (kind, list(getattr(feature, kind).value))
  return out


def assert_same_features(ours, theirs, keys=None):
  """Same kinds and values for `keys` (default: all, and the same key set)."""
  ours, theirs = feature_dict(ours), feature_dict(theirs)
  if keys is None:
    assert sorted(ours) == sorted(theirs)
    keys = sorted(theirs)
  for key in keys:
    assert ours[key][0] == theirs[key][0], key
    np.testing.assert_array_equal(np.asarray(ours[key][1]), np.asarray(theirs[key][1]),
                                  err_msg=key)


def tess_partitions(csv, clean, make_test_set, quirk=True):
  table = tce_table.read_tess_tce_table(str(csv), reproduce_is_multi_quirk=quirk)
  if make_test_set:
    return tce_table.partition_test_set(table, 8, clean, 15.0)
  return tce_table.partition_tces(table, 8, clean, 15.0)


@pytest.fixture(scope="module")
def triage(test_data):
  return test_data / "triage"


@pytest.fixture(scope="module")
def tess_config(triage):
  return records.RecordConfig("tess", str(triage / "lightcurves"))


@pytest.mark.parametrize("golden", sorted(GOLDEN_DIRS))
def test_records_equal_original_records(golden, triage, tess_config, tmp_path):
  clean, make_test_set = GOLDEN_DIRS[golden]
  partitions = tess_partitions(triage / "synthetic_tces.csv", clean, make_test_set)
  results = gir.generate_records(partitions, tess_config, str(tmp_path))
  golden_dir = triage / golden
  expected_shards = sorted(f for f in os.listdir(golden_dir) if f != "COMMAND.txt")
  # Hidden files (each shard's failure list, committed with it) match no glob.
  written = sorted(f for f in os.listdir(tmp_path)
                   if f != records.FAILED_TCES_FILE and not f.startswith("."))
  assert written == expected_shards
  num_records = 0
  for shard in expected_shards:
    ours, theirs = read_examples(tmp_path / shard), read_examples(golden_dir / shard)
    assert len(ours) == len(theirs), shard
    for a, b in zip(ours, theirs):
      assert_same_features(a, b)  # same keys, kinds and float32/int64/bytes values
      num_records += 1
  assert num_records == sum(r.num_written for r in results) > 0
  assert not any(r.failures for r in results)


def test_views_in_records_match_golden_views(triage, tess_config, tmp_path):
  golden = np.load(triage / "golden_views.npz")
  gir.generate_records(tess_partitions(triage / "synthetic_tces.csv", False, False),
                       tess_config, str(tmp_path))
  for shard in ("train-00003-of-00008", "train-00007-of-00008", "test-00000-of-00001"):
    ex, = read_examples(tmp_path / shard)
    tic = int(example_util.get_int64_feature(ex, "tic_id")[0])
    for view in ("global_view", "local_view"):
      got = example_util.get_float_feature(ex, view)
      np.testing.assert_array_equal(got, golden["{}/{}".format(tic, view)].astype(np.float32))


def test_kepler_records_match_original_record(test_data, golden_kepler90i, tmp_path):
  table = tce_table.read_kepler_tce_table(str(test_data / "kepler" / "kepler90_tces.csv"))
  assert list(table.index) == [1, 2, 4]  # UNK dropped; rowid is the index, not a feature
  assert table["tce_duration"].iloc[0] == pytest.approx(0.11267)
  config = records.RecordConfig("kepler", str(test_data / "kepler" / "fits"))
  partitions = tce_table.partition_tces(table, num_train_shards=2)
  results = gir.generate_records(partitions, config, str(tmp_path))
  by_name = {r.name: r for r in results}
  # The star without a light curve is skipped and reported; the rest are written.
  failures = [f for r in results for f in r.failures]
  assert [(f.id, f.tce) for f in failures] == [("1000001", "KIC 1000001 TCE 1")]
  assert "LightCurveFileError" in failures[0].reason
  assert failures[0].file.endswith(os.path.join("0010", "001000001"))
  logged = pd.read_csv(tmp_path / records.FAILED_TCES_FILE)
  assert list(logged.columns[:3]) == ["id", "file", "reason"]
  assert logged["id"].tolist() == [1000001]
  assert sum(r.num_written for r in results) == 2
  examples = [ex for r in results for ex in read_examples(tmp_path / r.name)]
  kepler90i, = [ex for ex in examples
                if example_util.get_int64_feature(ex, "tce_plnt_num")[0] == 1]
  original, = read_examples(test_data / "kepler" / "records" /
                            "kepler90_golden-00000-of-00001.tfrecord")[:1]
  assert_same_features(kepler90i, original, keys=sorted(feature_dict(original)))
  assert sorted(feature_dict(kepler90i)) == sorted(
      ["global_view", "local_view", "kepid", "tce_plnt_num", "tce_period",
       "tce_time0bk", "tce_duration", "tce_model_snr", "av_training_set"])
  assert by_name["val-00000-of-00001"].num_tces == 0


def test_split_of_the_real_catalog_matches_the_real_shards(shared_fixtures):
  triage = shared_fixtures / "triage"
  table = tce_table.read_tess_tce_table(str(triage / "tces.csv"),
                                        reproduce_is_multi_quirk=True)
  assert len(table) == 16693
  assert table["Disposition"].value_counts().to_dict() == {
      "J": 13962, "EB": 2223, "PC": 505, "O": 3}
  assert not table["is_multi"].any()
  assert tce_table.read_tess_tce_table(str(triage / "tces.csv"))["is_multi"].sum() > 0
  partitions = tce_table.partition_tces(table)
  sizes = {p.name: len(p.table) for p in partitions}
  assert sum(v for k, v in sizes.items() if k.startswith("train")) == 13354
  assert (sizes["val-00000-of-00001"], sizes["test-00000-of-00001"]) == (1669, 1670)
  for partition in partitions:
    expected = set(zip(partition.table["tic_id"], partition.table["Sectors"],
                       partition.table["row_id"]))
    got = set()
    for ex in read_examples(triage / "tfrecords" / partition.name):
      got.add(tuple(int(example_util.get_int64_feature(ex, k)[0])
                    for k in ("tic_id", "Sectors", "row_id")))
    assert got <= expected, partition.name
    assert len(expected) - len(got) <= 0.02 * len(expected)  # originals skipped ~1%


def test_catalog_errors_list_the_bad_rows(tmp_path, triage):
  good = pd.read_csv(triage / "synthetic_tces.csv")
  bad = good.copy()
  bad["Period"] = bad["Period"].astype(object)
  bad.loc[1, "Period"] = "abc"
  bad.to_csv(tmp_path / "nonnumeric.csv", index=False)
  with pytest.raises(errors.CatalogError, match=r"line 3: .*Period='abc'"):
    tce_table.read_tess_tce_table(str(tmp_path / "nonnumeric.csv"))
  bad = good.copy()
  bad.loc[2, "Duration"] = -2.0
  bad.to_csv(tmp_path / "negative.csv", index=False)
  with pytest.raises(errors.CatalogError, match=r"non-positive Period or Duration:\n  line 4"):
    tce_table.read_tess_tce_table(str(tmp_path / "negative.csv"))
  good.drop(columns=["Epoc"]).to_csv(tmp_path / "missing.csv", index=False)
  with pytest.raises(errors.CatalogError, match="column 7 is 'Period', expected 'Epoc'"):
    tce_table.read_tess_tce_table(str(tmp_path / "missing.csv"))
  with pytest.raises(errors.CatalogError, match="lacks column"):
    tce_table.read_kepler_tce_table(str(triage / "synthetic_tces.csv"))
  with pytest.raises(errors.CatalogError, match="does not exist"):
    tce_table.read_tess_tce_table(str(tmp_path / "nope.csv"))


def test_is_multi_marks_repeated_tics(triage, tmp_path):
  table = pd.read_csv(triage / "synthetic_tces.csv")
  extra = table.iloc[[0]].copy()
  extra["row_id"], extra["Sectors"] = 3, 3
  pd.concat([table, extra]).to_csv(tmp_path / "multi.csv", index=False)
  read = tce_table.read_tess_tce_table(str(tmp_path / "multi.csv"))
  assert read["is_multi"].tolist() == [True, False, False, True]
  quirk = tce_table.read_tess_tce_table(str(tmp_path / "multi.csv"),
                                        reproduce_is_multi_quirk=True)
  assert not quirk["is_multi"].any()
  time = np.linspace(1350.0, 1400.0, 101)
  t, f = preprocess.trim_to_sector(time, time.copy(), 3)
  assert t.min() >= preprocess.TESS_SECTOR_START_BTJD[3] and len(t) == len(f) < 101


def write_corrupt_inputs(triage, tmp_path):
  """A data dir with a truncated h5, and a catalog with a missing TIC."""
  import shutil
  data_dir = tmp_path / "lightcurves"
  shutil.copytree(triage / "lightcurves", data_dir)
  corrupt = data_dir / "sector-3" / "100000002.h5"
  corrupt.write_bytes(corrupt.read_bytes()[:2000])
  table = pd.read_csv(triage / "synthetic_tces.csv")
  extra = table.iloc[[0]].copy()
  extra["row_id"], extra["tic_id"] = 3, 999
  csv = tmp_path / "tces.csv"
  pd.concat([table, extra]).to_csv(csv, index=False)
  return data_dir, csv


def test_bad_tces_are_logged_and_skipped(triage, tmp_path):
  data_dir, csv = write_corrupt_inputs(triage, tmp_path)
  out = tmp_path / "out"
  results = gir.generate_records(
      tess_partitions(csv, False, False, quirk=False),
      records.RecordConfig("tess", str(data_dir)), str(out))
  failures = {f.id: f for r in results for f in r.failures}
  assert sorted(failures) == ["100000002", "999"]
  assert "100000002.h5" in failures["100000002"].file
  assert "LightCurveFileError" in failures["100000002"].reason
  assert failures["999"].file.endswith(os.path.join("sector-2", "999.h5"))
  assert sum(r.num_written for r in results) == 2
  logged = pd.read_csv(out / records.FAILED_TCES_FILE)
  assert sorted(logged["id"]) == [999, 100000002]


def test_resume_skips_finished_shards(triage, tess_config, tmp_path):
  partitions = tess_partitions(triage / "synthetic_tces.csv", False, False)
  gir.generate_records(partitions, tess_config, str(tmp_path))
  kept = tmp_path / "train-00003-of-00008"
  redo = tmp_path / "test-00000-of-00001"
  kept_bytes = kept.read_bytes()
  kept.write_bytes(b"")  # would stay empty if resumed
  redo.unlink()
  results = gir.generate_records(partitions, tess_config, str(tmp_path))
  by_name = {r.name: r for r in results}
  assert by_name["train-00003-of-00008"].resumed
  assert not by_name["test-00000-of-00001"].resumed
  assert kept.read_bytes() == b"" and len(read_examples(redo)) == 1
  gir.generate_records(partitions, tess_config, str(tmp_path), overwrite=True)
  assert kept.read_bytes() == kept_bytes
  assert not [f for f in os.listdir(tmp_path) if ".tmp-" in f]


@pytest.mark.parametrize("start_method", ["spawn"])
def test_worker_processes_give_identical_shards(triage, tess_config, tmp_path, start_method):
  partitions = tess_partitions(triage / "synthetic_tces.csv", False, False)
  gir.generate_records(partitions, tess_config, str(tmp_path / "one"))
  gir.generate_records(partitions, tess_config, str(tmp_path / "two"),
                       num_worker_processes=2, start_method=start_method)
  for partition in partitions:
    assert ((tmp_path / "one" / partition.name).read_bytes() ==
            (tmp_path / "two" / partition.name).read_bytes())


def run_cli(*args, cwd):
  env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
  return subprocess.run(
      [sys.executable, str(ROOT / "astronet" / "data" / "generate_input_records.py"), *args],
      cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_cli_exit_status_and_help(triage, tmp_path):
  data_dir, csv = write_corrupt_inputs(triage, tmp_path)
  proc = run_cli("--input_tce_csv_file={}".format(csv), "--tess_data_dir={}".format(data_dir),
                 "--output_dir=out", "--num_worker_processes=2", "--start_method=spawn",
                 "--make_test_set", "--test_set_min_sector=2", cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "4 TCEs, 2 written, 2 skipped" in proc.stderr
  visible = [f for f in os.listdir(tmp_path / "out") if not f.startswith(".")]
  assert len(visible) == 9  # 8 test shards + failed_tces.csv
  # A data folder that does not exist: bad input, found before out2 is made.
  proc = run_cli("--input_tce_csv_file={}".format(csv), "--tess_data_dir=nowhere",
                 "--output_dir=out2", "--num_worker_processes=1", cwd=tmp_path)
  assert proc.returncode == 2 and "--tess_data_dir nowhere is not a directory" in proc.stderr
  assert not (tmp_path / "out2").exists() and "Traceback" not in proc.stderr
  # Every TCE failing (an empty data folder) is a failed run.
  (tmp_path / "empty").mkdir()
  proc = run_cli("--input_tce_csv_file={}".format(csv), "--tess_data_dir=empty",
                 "--output_dir=out2", "--num_worker_processes=1", cwd=tmp_path)
  assert proc.returncode == 1 and "every one of the 4 TCEs failed" in proc.stderr
  proc = run_cli("--helpshort", cwd=tmp_path)  # absl exits 1 after printing help
  assert "--num_worker_processes" in proc.stdout and "--make_test_set" in proc.stdout


def test_beam_direct_runner_writes_identical_shards(triage, tess_config, tmp_path):
  pytest.importorskip("apache_beam")
  from astronet.data import beam_generate_input_records as beam_gir
  data_dir, csv = write_corrupt_inputs(triage, tmp_path)
  config = records.RecordConfig("tess", str(data_dir))
  partitions = tess_partitions(csv, False, False)
  gir.generate_records(partitions, config, str(tmp_path / "mp"))
  written = beam_gir.run(partitions, config, str(tmp_path / "beam"))
  assert len(written) == 10
  for partition in partitions:
    assert ((tmp_path / "mp" / partition.name).read_bytes() ==
            (tmp_path / "beam" / partition.name).read_bytes()), partition.name
  mp = pd.read_csv(tmp_path / "mp" / records.FAILED_TCES_FILE)
  beam = pd.read_csv(tmp_path / "beam" / records.FAILED_TCES_FILE)
  assert sorted(beam["id"]) == sorted(mp["id"]) == [999, 100000002]
  # Resumed: nothing left to do.
  assert beam_gir.run(partitions, config, str(tmp_path / "beam")) == []


def test_beam_dask_runner_on_a_local_cluster_writes_identical_shards(triage, tmp_path,
                                                                   monkeypatch):
  # A real distributed engine: Beam's DaskRunner on a dask.distributed cluster of two
  # worker processes (what a Dask cluster of many machines runs the same way).
  pytest.importorskip("apache_beam")
  distributed = pytest.importorskip("distributed")
  from astronet.data import beam_generate_input_records as beam_gir
  monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the workers import the package
  data_dir, csv = write_corrupt_inputs(triage, tmp_path)
  config = records.RecordConfig("tess", str(data_dir))
  partitions = tess_partitions(csv, False, False)
  gir.generate_records(partitions, config, str(tmp_path / "mp"))
  with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                dashboard_address=None) as cluster:
    written = beam_gir.run(partitions, config, str(tmp_path / "dask"), pipeline_args=[
        "--runner=DaskRunner", "--dask_client_address=" + cluster.scheduler_address])
  assert len(written) == 10
  for partition in partitions:
    assert ((tmp_path / "mp" / partition.name).read_bytes() ==
            (tmp_path / "dask" / partition.name).read_bytes()), partition.name
  logged = pd.read_csv(tmp_path / "dask" / records.FAILED_TCES_FILE)
  assert sorted(logged["id"]) == [999, 100000002]


def test_kepler_catalog_errors_name_the_file_line(test_data, tmp_path):
  # Leading '#' comment lines count: the bad row is on file line 5.
  lines = (test_data / "kepler" / "kepler90_tces.csv").read_text().splitlines()
  assert lines[0].startswith("#") and lines[1].startswith("#") and lines[2].startswith("rowid")
  lines[4] = lines[4].replace("210.60697", "-210.6")
  (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n")
  with pytest.raises(errors.CatalogError, match=r"non-positive tce_period or tce_duration:\n"
                     r"  line 5: .*tce_period=-210.6"):
    tce_table.read_kepler_tce_table(str(tmp_path / "bad.csv"))


def test_star_with_several_tces_is_detrended_once(test_data, tmp_path, monkeypatch):
  """The spline (~97% of a Kepler TCE) runs once per star, not once per TCE,
  and the records are the same bytes as without the cache."""
  from third_party.kepler_spline import kepler_spline
  table = tce_table.read_kepler_tce_table(str(test_data / "kepler" / "kepler90_tces.csv"))
  table = table[table["kepid"] == 11442793]
  table = pd.concat([table, table.assign(tce_plnt_num=table["tce_plnt_num"] + 10)])
  partitions = tce_table.split_into_shards(table, "train", 2)
  calls = []
  real_fit = kepler_spline.fit_kepler_spline

  def counting_fit(*args, **kwargs):
    calls.append(1)
    return real_fit(*args, **kwargs)

  monkeypatch.setattr(kepler_spline, "fit_kepler_spline", counting_fit)
  config = records.RecordConfig("kepler", str(test_data / "kepler" / "fits"))
  cached = gir.generate_records(partitions, config, str(tmp_path / "cached"))
  assert sum(r.num_written for r in cached) == len(table) == 4
  assert len(calls) == 1  # One star, two shards: the later shard reuses it.
  calls.clear()
  uncached = records.RecordConfig("kepler", str(test_data / "kepler" / "fits"),
                                  cache_stars=False)
  gir.generate_records(partitions, uncached, str(tmp_path / "uncached"))
  assert len(calls) == 4
  for partition in partitions:
    assert ((tmp_path / "cached" / partition.name).read_bytes() ==
            (tmp_path / "uncached" / partition.name).read_bytes())


def test_cached_light_curve_is_read_only(test_data):
  tce = {"kepid": 11442793}
  time, flux = preprocess.read_and_process_tce(tce, missions.KEPLER,
                                               str(test_data / "kepler" / "fits"))
  with pytest.raises(ValueError, match="read-only"):
    flux[0] = 0
  again = preprocess.read_and_process_tce(tce, missions.KEPLER,
                                          str(test_data / "kepler" / "fits"))
  assert again[1] is flux
  preprocess.clear_star_cache()
