"""ASTROMER: the original macho weights in our encoder reproduce the original library's outputs."""

import json

import numpy as np
import pytest

from astromer import encoder
from astromer import preprocessing
from astromer import weights
from astromer.models import SingleBandEncoder
from tf_util import errors


@pytest.fixture(scope="module")
def fixtures(shared_fixtures):
  return shared_fixtures / "astromer"


@pytest.fixture(scope="module")
def golden(fixtures):
  return np.load(fixtures / "golden_macho.npz"), json.loads(
      (fixtures / "golden_macho.json").read_text())


@pytest.fixture(scope="module")
def macho(fixtures):
  conf = weights.read_conf(str(fixtures / "weights" / "macho"))
  model = SingleBandEncoder(num_layers=conf["num_layers"], d_model=conf["d_model"],
                            num_heads=conf["num_heads"], dff=conf["dff"], maxlen=conf["maxlen"])
  return model.load_weights(str(fixtures / "weights" / "macho"))


def test_preprocessing_matches_the_original_bit_for_bit(golden):
  arrays, meta = golden
  for lc in meta["lightcurves"]:
    i = lc["index"]
    windows = preprocessing.make_windows(arrays["lc{}_raw".format(i)], 200)
    for key in ("input", "times", "mask_in", "length"):
      np.testing.assert_array_equal(windows[key], arrays["lc{}_{}".format(i, key)])
    assert windows["length"].tolist() == lc["window_lengths"]


def test_encode_reconstruction_and_loss(macho, golden):
  arrays, meta = golden
  assert macho.model.count_params() == meta["param_count"] == 661_505
  curves = [arrays["lc{}_raw".format(lc["index"])] for lc in meta["lightcurves"]]
  ids = [lc["id"] for lc in meta["lightcurves"]]
  encoded = macho.encode(curves, oids_list=ids, batch_size=4)
  # Sorted-id order, one (rows, 256) array per object.
  assert len(encoded) == len(meta["combined_encode_order"])
  for position, oid in enumerate(meta["combined_encode_order"]):
    i = ids.index(oid)
    expected = arrays["lc{}_encode".format(i)]
    assert encoded[position].shape == expected.shape == tuple(meta["lightcurves"][i]["encode_shape"])
    np.testing.assert_allclose(encoded[position], expected, atol=2e-3)
  # Masked reconstruction and the RMSE loss of the golden pretraining batch (fixed masks).
  out = macho.model({k: arrays["pre_" + k] for k in ("input", "times", "mask_in")})
  recon = np.asarray(out["reconstruction"])
  np.testing.assert_allclose(recon, arrays["pre_recon"], atol=1e-4)
  mask, truth = arrays["pre_mask_out"], arrays["pre_output"]
  loss = np.sqrt(np.mean((mask * (truth - recon)**2).sum(axis=(1, 2)) / mask.sum(axis=(1, 2))))
  assert loss == pytest.approx(float(arrays["pre_loss"]), rel=1e-5)
  # Positional encoding of window 0 of lc0 (float32 sin/cos of angles up to
  # ~1500 rad: the main source of the embedding differences, as the fixture notes).
  pe = np.asarray(encoder.positional_encoding(arrays["lc0_times"][:1], 256))
  np.testing.assert_allclose(pe, arrays["dbg0_posenc"].reshape(pe.shape), atol=1e-3)


def test_bad_inputs_and_weights(macho, fixtures, tmp_path):
  good = np.column_stack([np.arange(10.0), np.ones(10), np.ones(10) * 0.1])
  with pytest.raises(ValueError, match="at least 2 are needed"):
    macho.encode([good[:1]])
  with pytest.raises(ValueError, match=r"must have shape \(L, 3\)"):
    macho.encode([good[:, :2]])
  nan = good.copy()
  nan[3, 1] = np.nan
  with pytest.raises(ValueError, match="1 non-finite values"):
    macho.encode([nan])
  with pytest.raises(ValueError, match="times are not sorted"):
    macho.encode([good[::-1]])
  with pytest.raises(errors.CheckpointError, match="holds neither weights.index nor weights.h5"):
    SingleBandEncoder().load_weights(str(tmp_path))
  with pytest.raises(errors.CheckpointError, match="wrong shape"):
    SingleBandEncoder(d_model=200, num_heads=2, dff=256, maxlen=200).load_weights(
        str(fixtures / "weights" / "macho"))


def test_from_pretraining_offline_and_the_original_import_path(macho, golden, fixtures,
                                                               tmp_path, monkeypatch):
  import shutil

  from astromer import utils
  from ASTROMER.models import SingleBandEncoder as Alias
  arrays, _ = golden
  assert Alias is SingleBandEncoder
  # 'macho' ships with the package: no network, same weights as the fixture.
  bundled = SingleBandEncoder.from_pretraining("macho", download=False)
  curve = [arrays["lc3_raw"]]
  np.testing.assert_array_equal(bundled.encode(curve)[0], macho.encode(curve)[0])
  # Other names come from the cache directory: the 2022 atlas Keras-2 weights.h5.
  monkeypatch.setenv("ASTROMER_WEIGHTS_DIR", str(tmp_path / "cache"))
  shutil.copytree(fixtures / "weights" / "atlas", tmp_path / "cache" / "atlas",
                  ignore=shutil.ignore_patterns("logs"))
  atlas = SingleBandEncoder().from_pretraining("atlas", download=False)  # instance call too
  assert atlas.model.count_params() == 661_505
  batch = {k: arrays["pre_" + k] for k in ("input", "times", "mask_in")}
  mask, truth = arrays["pre_mask_out"], arrays["pre_output"]
  def rmse(model):
    recon = np.asarray(model.model(batch)["reconstruction"])
    return np.sqrt(np.mean((mask * (truth - recon)**2).sum(axis=(1, 2)) / mask.sum(axis=(1, 2))))
  untrained = SingleBandEncoder(num_layers=2, d_model=256, num_heads=4, dff=128, maxlen=200)
  assert rmse(atlas) < 0.5 * rmse(untrained)  # every atlas variable landed in its place
  with pytest.raises(errors.CheckpointError, match="No pretrained ASTROMER weights 'ztfg'"):
    SingleBandEncoder.from_pretraining("ztfg", download=False)
  # A failed download is one clear error, never a BadZipFile.
  page = tmp_path / "404.html"
  page.write_text("<html>Not Found</html>")
  with pytest.raises(errors.CheckpointError, match="did not return a zip archive"):
    utils.download_weights(page.as_uri(), str(tmp_path / "dl"))
  with pytest.raises(errors.CheckpointError, match="Could not download"):
    utils.download_weights((tmp_path / "missing.zip").as_uri(), str(tmp_path / "dl"))


def test_make_pretraining_and_fit(macho, golden, fixtures, tmp_path):
  from astromer import models
  from astromer import preprocessing
  arrays, _ = golden
  records = str(fixtures / "data" / "records_lsst_rrc")
  test = preprocessing.make_pretraining(records + "/test", batch_size=8, max_obs=200,
                                        msk_frac=0.5, rnd_frac=0.2, same_frac=0.2, seed=0)
  batch = next(iter(test))
  # The deterministic parts equal the original's first batch; masks follow its counts.
  for key in ("output", "times", "length", "label"):
    np.testing.assert_array_equal(batch[key].numpy(), arrays["pre_" + key])
  assert [i.decode() for i in batch["id"].numpy()] == list(arrays["pre_id"])
  assert (batch["mask_out"].numpy().sum(axis=(1, 2)) == 100).all()
  assert ((1 - batch["mask_in"].numpy()).sum(axis=(1, 2)) == 200 - 64).all()
  # The original's loss on its own fixed-mask batch.
  golden_batch = {k: arrays["pre_" + k] for k in ("input", "times", "mask_in", "mask_out",
                                                   "output")}
  # (Only the three model inputs go to the Keras model: Keras 3 mis-assigns extra dict keys.)
  loss = models.rmse(macho.model(models._model_inputs(golden_batch))["reconstruction"],
                     golden_batch)  # pylint: disable=protected-access
  assert float(loss) == pytest.approx(float(arrays["pre_loss"]), rel=1e-5)
  # fit: one epoch of fine-tuning writes original-layout weights that load back.
  train = preprocessing.make_pretraining(records + "/train", batch_size=16, max_obs=200,
                                         msk_frac=0.5, rnd_frac=0.2, same_frac=0.2, seed=0)
  val = preprocessing.make_pretraining(records + "/val", batch_size=16, max_obs=200,
                                       msk_frac=0.5, rnd_frac=0.2, same_frac=0.2, seed=0)
  tuned = SingleBandEncoder.from_pretraining("macho")
  history = tuned.fit(train, val, epochs=2, lr=1e-5, project_path=str(tmp_path))
  assert len(history["valid"]) == 2 and all(np.isfinite(history["valid"]))
  assert (tmp_path / "weights.index").exists() and list((tmp_path / "logs").iterdir())
  reloaded = SingleBandEncoder(num_layers=2, d_model=256, num_heads=4, dff=128, maxlen=200)
  reloaded.load_weights(str(tmp_path))
  values = weights.read_checkpoint(str(tmp_path))
  assert set(values) == set(weights.read_checkpoint(str(fixtures / "weights" / "macho")))


def test_onnx_export_matches_keras(macho, golden, tmp_path):
  ort = pytest.importorskip("onnxruntime")
  pytest.importorskip("tf2onnx")
  arrays, _ = golden
  path = macho.export_onnx(str(tmp_path / "astromer.onnx"))
  session = ort.InferenceSession(path)
  windows = {k: arrays["lc3_" + k] for k in ("input", "times", "mask_in")}
  onnx_out = session.run(None, {i.name: windows[i.name] for i in session.get_inputs()})[0]
  keras_out = np.asarray(macho.model(windows)["embedding"])
  assert onnx_out.shape == keras_out.shape == (2, 200, 256)
  # float32 sin/cos of angles up to ~1500 rad differ between runtimes by ~4e-5.
  np.testing.assert_allclose(onnx_out, keras_out, atol=5e-4)


def test_fit_under_mirrored_xla_and_mixed_precision(fixtures, tmp_path):
  """Same initial weights and batches: the mirrored strategy and the XLA step give
  the plain run's losses; mixed precision stays close to float32."""
  import keras

  from astromer import preprocessing

  def batches(split):
    return preprocessing.make_pretraining(
        str(fixtures / "data" / "records_lsst_rrc" / split), batch_size=16, max_obs=200,
        msk_frac=0.5, rnd_frac=0.2, same_frac=0.2, seed=0)

  histories = {}
  for name, options in (("plain", {}), ("mirrored", {"distribution": "mirrored"}),
                        ("xla", {"jit_compile": True}), ("mixed", {"mixed_precision": True})):
    keras.utils.set_random_seed(0)
    encoder = SingleBandEncoder(num_layers=1, d_model=32, num_heads=2, dff=32, maxlen=200)
    histories[name] = encoder.fit(batches("train"), batches("val"), epochs=2, lr=1e-3,
                                  project_path=str(tmp_path / name), **options)
    assert (tmp_path / name / "weights.index").exists()
  plain = np.array(histories["plain"]["train"] + histories["plain"]["valid"])
  assert plain[1] < plain[0]  # it learns
  for name, rtol in (("mirrored", 1e-5), ("xla", 1e-4), ("mixed", 2e-2)):
    np.testing.assert_allclose(histories[name]["train"] + histories[name]["valid"], plain,
                               rtol=rtol, err_msg=name)
