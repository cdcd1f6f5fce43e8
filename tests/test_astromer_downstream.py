"""ASTROMER downstream: labelled-folder reading, record writing, classifier heads, cross-validation.

Real data: six Catalina light curves (two per class) in tests/data/catalina.
"""

import csv
import json
import os

import numpy as np
import pandas as pd
import pytest

from astromer import classifiers
from astromer import downstream as classify
from astromer import light_curves
from astromer import preprocessing
from astromer import records
from tf_util import errors


@pytest.fixture(scope="module")
def catalina(test_data):
  return light_curves.read_labelled_folder(str(test_data / "catalina"))


def test_read_labelled_folder(catalina, test_data, tmp_path):
  curves, ids, labels, names = catalina
  assert names == ["delta_scuti", "rr_lyrae", "w_uma"]
  assert list(labels) == [0, 0, 1, 1, 2, 2]
  assert ids[2] == "1001004012176"
  raw = pd.read_csv(test_data / "catalina" / "rr_lyrae_1001004012176.csv")
  lc = curves[2]
  assert lc.shape == (len(raw.drop_duplicates(["MJD", "Mag", "Magerr"])), 3)
  assert np.all(np.diff(lc[:, 0]) >= 0)  # sorted, though the file is not everywhere
  np.testing.assert_allclose(np.sort(lc[:, 1]), np.sort(raw["Mag"].to_numpy()))
  # Labels from a labels CSV instead of file names; a missing label is a clear error.
  folder = tmp_path / "lcs"
  folder.mkdir()
  raw[["MJD", "Mag", "Magerr"]].to_csv(folder / "star1.csv", index=False)
  raw[["MJD", "Mag", "Magerr"]].rename(columns={"MJD": "time", "Magerr": "err"}).to_csv(
      folder / "star2.csv", index=False)
  labels_csv = tmp_path / "labels.csv"
  labels_csv.write_text("id,label\nstar1,RRab\nstar2,RRc\n")
  _, ids2, labels2, names2 = light_curves.read_labelled_folder(str(folder), str(labels_csv))
  assert (ids2, list(labels2), names2) == (["star1", "star2"], [0, 1], ["RRab", "RRc"])
  labels_csv.write_text("id,label\nstar1,RRab\n")
  with pytest.raises(errors.CatalogError, match="star2"):
    light_curves.read_labelled_folder(str(folder), str(labels_csv))


def test_bad_light_curve_files(tmp_path):
  no_err = tmp_path / "a_1.csv"
  no_err.write_text("MJD,Mag\n1,2\n3,4\n")
  with pytest.raises(errors.MissingFieldError, match="magnitude-error"):
    light_curves.read_csv_light_curve(str(no_err))
  one_point = tmp_path / "a_2.csv"
  one_point.write_text("MJD,Mag,Magerr\n1,2,0.1\n2,nan,0.1\n")
  with pytest.raises(errors.EmptyLightCurveError, match="1 finite observation"):
    light_curves.read_csv_light_curve(str(one_point))
  text = tmp_path / "a_3.csv"
  text.write_text("MJD,Mag,Magerr\n1,bright,0.1\n")
  with pytest.raises(errors.LightCurveFileError, match="non-numeric"):
    light_curves.read_csv_light_curve(str(text))
  with pytest.raises(errors.LightCurveFileError, match="not a folder"):
    light_curves.read_labelled_folder(str(tmp_path / "missing"))


def test_write_records_round_trip_skip_and_resume(catalina, tmp_path):
  curves, ids, labels, _ = catalina
  bad = np.zeros((5, 2))
  dest = str(tmp_path / "train")
  paths = records.write_records(list(curves) + [bad], list(ids) + ["bad"], list(labels) + [0],
                                dest, max_lcs_per_record=4)
  assert [os.path.basename(p) for p in paths] == ["chunk_0.record", "chunk_1.record"]
  back, back_ids, back_labels = preprocessing.pretraining_records(dest)
  assert back_ids == list(ids)  # the misshaped curve was logged and skipped
  assert back_labels == list(labels)
  for a, b in zip(back, curves):
    np.testing.assert_array_equal(a, b.astype(np.float32))
  # A chunk already there is kept and its curves are not even read.
  before = os.path.getmtime(paths[0])
  def fail():
    raise AssertionError("read although its chunk exists")
  records.write_records([fail] * 4 + list(curves[4:]), ids, labels, dest, max_lcs_per_record=4)
  assert os.path.getmtime(paths[0]) == before
  # make_pretraining reads the folder.
  batch = next(iter(preprocessing.make_pretraining(dest, batch_size=3, max_obs=200)))
  assert batch["input"].shape == (3, 200, 1)


def test_create_dataset_layout(test_data, tmp_path):
  files = sorted(os.listdir(test_data / "catalina"))
  files = [f for f in files if f.endswith(".csv")]
  meta = pd.DataFrame({"ID": [f.split("_")[-1][:-4] for f in files],
                       "Class": ["_".join(f.split("_")[:-1]) for f in files],
                       "Path": files, "Band": "V"})
  meta.loc[len(meta)] = ["404", "w_uma", "missing.csv", "V"]
  written = records.create_dataset(meta, str(test_data / "catalina"), str(tmp_path / "rec"),
                                    subsets_frac=(0.5, 0.5), seed=0, max_lcs_per_record=1)
  assert sum(written.values()) == 7
  objects = list(csv.reader(open(tmp_path / "rec" / "objects.csv")))
  assert objects == [["label", "size"], ["delta_scuti", "2"], ["rr_lyrae", "2"], ["w_uma", "3"]]
  read_back = {}
  for subset in written:
    if written[subset]:
      curves, ids, labels = preprocessing.pretraining_records(str(tmp_path / "rec" / subset))
      read_back.update(zip(ids, labels))
  # Every readable object once, with its class index; the missing file was skipped (logged).
  assert read_back == {m.ID: ["delta_scuti", "rr_lyrae", "w_uma"].index(m.Class)
                       for m in meta.itertuples() if m.ID != "404"}
  assert os.path.exists(tmp_path / "rec" / "train" / "w_uma" / "chunk_0.record")
  two_bands = pd.concat([meta, meta.assign(Band="R")])
  with pytest.raises(errors.CatalogError, match="band"):
    records.create_dataset(two_bands, str(test_data / "catalina"), str(tmp_path / "rec2"))


def test_lstm_head_predicts_from_the_last_real_observation():
  head = classifiers.build_head("lstm", 3, maxlen=12, d_model=8, units=5)
  rng = np.random.default_rng(0)
  embedding = rng.normal(size=(2, 12, 8)).astype(np.float32)
  mask_in = np.zeros((2, 12, 1), np.float32)
  mask_in[0, 7:] = 1.0  # 7 real observations, then padding
  logits = np.asarray(head({"embedding": embedding, "mask_in": mask_in}))
  assert logits.shape == (2, 12, 3)
  np.testing.assert_allclose(classifiers.final_logits(logits)[0], logits[0, 6], rtol=1e-6)
  # Padding values do not matter.
  embedding[0, 7:] = 100.0
  np.testing.assert_allclose(np.asarray(head({"embedding": embedding, "mask_in": mask_in}))[0],
                             logits[0], rtol=1e-5, atol=1e-6)
  # The loss sums the per-step cross entropy (the original's custom_bce).
  labels = np.array([2, 0])
  expected = []
  for b in range(2):
    z = logits[b] - logits[b].max(axis=1, keepdims=True)
    expected.append(-(z[:, labels[b]] - np.log(np.exp(z).sum(axis=1))).sum())
  np.testing.assert_allclose(np.asarray(classifiers.sequence_cross_entropy(labels, logits)),
                             expected, rtol=1e-5)
  mlp = classifiers.build_head("mlp", 3, maxlen=12, d_model=8)
  assert np.asarray(mlp({"embedding": embedding, "mask_in": mask_in})).shape == (2, 3)
  with pytest.raises(ValueError, match="unknown head"):
    classifiers.build_head("gru", 3, 12, 8)


def test_frozen_and_trainable_encoder(catalina):
  from astromer.models import SingleBandEncoder
  encoder = SingleBandEncoder.from_pretraining("macho")
  head = classifiers.build_head("mlp", 3, encoder.maxlen, encoder.d_model)
  frozen = classifiers.build_classifier(encoder.model, head, trainable_encoder=False)
  assert len(frozen.trainable_weights) == len(head.trainable_weights)
  trainable = classifiers.build_classifier(encoder.model, head, trainable_encoder=True)
  assert len(trainable.trainable_weights) > len(head.trainable_weights)


def test_cross_validate_scenarios_on_real_curves(catalina, tmp_path):
  curves, ids, labels, names = catalina
  rf = classify.cross_validate(curves, ids, labels, names, "rf", folds=2,
                               output_dir=str(tmp_path / "rf"))
  assert len(rf["folds"]) == 2 and len(rf["predictions"]) == 6
  # Each object is predicted once, by the fold that held it out.
  assert sorted(p["id"] for p in rf["predictions"]) == sorted(ids)
  assert 0.0 <= rf["macro_f1_mean"] <= 1.0
  results = classify.cross_validate(curves, ids, labels, names, "c", "mlp", folds=2, epochs=2,
                                    patience=2, finetune_epochs=1, val_fraction=0.5,
                                    output_dir=str(tmp_path / "c"))
  assert os.path.exists(tmp_path / "c" / "repeat_0" / "fold_0" / "finetune" / "weights.index")
  assert os.path.exists(tmp_path / "c" / "repeat_0" / "fold_1" / "classifier.weights.h5")
  for name in ("results.json", "predictions.csv", "confusion_matrix.png"):
    assert os.path.getsize(tmp_path / "c" / name) > 0
  saved = json.load(open(tmp_path / "c" / "results.json"))
  assert saved["macro_f1_mean"] == pytest.approx(results["macro_f1_mean"])
  assert np.sum(saved["pooled"][0]["confusion_matrix"]) == 6
  rows = list(csv.DictReader(open(tmp_path / "c" / "predictions.csv")))
  assert len(rows) == 6
  for row in rows:
    probs = [float(row["p_" + n]) for n in names]
    assert sum(probs) == pytest.approx(1.0, abs=1e-4)
    assert row["predicted"] == names[int(np.argmax(probs))]


def test_cross_validate_bad_settings(catalina):
  curves, ids, labels, names = catalina
  with pytest.raises(ValueError, match="fewer than --folds=3"):
    classify.cross_validate(curves, ids, labels, names, "rf", folds=3)
  with pytest.raises(ValueError, match="unknown scenario"):
    classify.cross_validate(curves, ids, labels, names, "d")
