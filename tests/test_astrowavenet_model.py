"""AstroWaveNet model: original-checkpoint parity, causality, receptive field, likelihoods, errors."""

import json
import math

import numpy as np
import pytest
import tensorflow as tf

from astronet import checkpoint_import
from astrowavenet import astrowavenet_model as awn
from astrowavenet import configurations
from tf_util import errors

TINY = dict(configurations.base()["hparams"], num_residual_blocks=2, dilation_rates=[1, 2],
            skip_output_dim=4, preprocess_kernel_width=4)


@pytest.mark.parametrize("kind", ["normal", "categorical"])
def test_original_checkpoint_predictions(shared_fixtures, kind):
  source = shared_fixtures / "kepler" / "astrowavenet_ckpt" / kind
  hparams = json.loads((source / "config.json").read_text())["config"]["hparams"]
  golden = np.load(source / "predictions.npz")
  model = awn.build_model(hparams, 1, 2)
  checkpoint_import.assign_weights(model, checkpoint_import.read_tf1_checkpoint(
      str(source)).weights, str(source))
  features = {"autoregressive_input": tf.constant(golden["input_autoregressive"]),
              "conditioning_stack": tf.constant(golden["input_conditioning"])}
  # PREDICT mode: unshifted inputs.
  out = model(features)
  params = awn.distribution_params(out["dist_params"], hparams)
  result = awn.losses(params, features["autoregressive_input"], hparams)
  np.testing.assert_allclose(out["network_output"], golden["predict_network_output"], atol=1e-5)
  for name, value in params.items():
    np.testing.assert_allclose(value, golden["predict_" + name], atol=1e-5)
  np.testing.assert_array_equal(result["target"], golden["predict_target"])
  np.testing.assert_allclose(result["seq_losses"], golden["predict_seq_losses"], atol=1e-5)
  np.testing.assert_allclose(result["per_example_loss"], golden["predict_mean_loss"], atol=1e-5)
  # EVAL mode: inputs and conditioning shifted right by one step.
  out = model(awn.shift_inputs(features, hparams))
  params = awn.distribution_params(out["dist_params"], hparams)
  result = awn.losses(params, features["autoregressive_input"], hparams)
  for name, value in params.items():
    np.testing.assert_allclose(value, golden["eval_" + name], atol=1e-5)
  np.testing.assert_allclose(result["per_example_loss"], golden["eval_per_example_loss"],
                             atol=1e-5)
  assert float(result["total_loss"]) == pytest.approx(float(golden["eval_total_loss"]), abs=1e-5)


def test_causality_and_receptive_field():
  tf.random.set_seed(0)
  model = awn.build_model(TINY, 1, 2)
  field = awn.receptive_field(TINY)
  assert field == 4 + (2 - 1) * (1 + 2) * 2  # preprocess width + dilated convs
  rng = np.random.RandomState(0)
  x = rng.normal(size=(1, 40, 1)).astype(np.float32)
  c = rng.normal(size=(1, 40, 2)).astype(np.float32)
  base = model({"autoregressive_input": x, "conditioning_stack": c})["dist_params"].numpy()
  t = 25
  x2, c2 = x.copy(), c.copy()
  x2[:, t:] += 5.0
  c2[:, t:] -= 3.0
  changed = model({"autoregressive_input": x2, "conditioning_stack": c2})["dist_params"].numpy()
  np.testing.assert_array_equal(changed[:, :t], base[:, :t])  # nothing after t leaks back
  assert not np.allclose(changed[:, t], base[:, t])
  # Output t depends on exactly the `field` inputs t - field + 1 ... t.
  x3 = x.copy()
  x3[:, t - field] += 5.0
  far = model({"autoregressive_input": x3, "conditioning_stack": c})["dist_params"].numpy()
  np.testing.assert_array_equal(far[:, t], base[:, t])
  x3 = x.copy()
  x3[:, t - field + 1] += 5.0
  near = model({"autoregressive_input": x3, "conditioning_stack": c})["dist_params"].numpy()
  assert not np.allclose(near[:, t], base[:, t])


def test_log_likelihoods_against_closed_forms():
  target = tf.constant([[[0.3], [-2.0]]])
  params = {"loc": tf.constant([[[0.1], [0.5]]]), "scale": tf.constant([[[0.2], [2.0]]])}
  normal = awn.log_prob(params, target, TINY).numpy().ravel()
  expected = [-0.5 * ((0.3 - 0.1) / 0.2)**2 - math.log(0.2) - 0.5 * math.log(2 * math.pi),
              -0.5 * ((-2.0 - 0.5) / 2.0)**2 - math.log(2.0) - 0.5 * math.log(2 * math.pi)]
  np.testing.assert_allclose(normal, expected, rtol=1e-6)
  categorical = dict(configurations.categorical()["hparams"])
  dist = dict(categorical["output_distribution"], num_classes=4)
  categorical["output_distribution"] = dist
  # [-1, 1] in 4 bins; 1.0 (the max) belongs to the last, closed bin; clipping.
  values = tf.constant([-1.0, -0.5, 0.2, 1.0, 7.0])
  np.testing.assert_array_equal(awn.quantize(values, dist).numpy(), [0, 1, 2, 3, 3])
  logits = tf.constant([[[[1.0, 2.0, 3.0, 4.0]]]])
  lp = awn.log_prob({"logits": logits}, tf.constant([[[0.2]]]), categorical).numpy()
  assert lp.ravel()[0] == pytest.approx(3.0 - math.log(sum(math.exp(v) for v in (1, 2, 3, 4))),
                                        rel=1e-6)
  # Weighted losses: all-zero-weight examples count as no example.
  result = awn.losses(params, target, TINY, weights=tf.constant([[[1.0], [0.0]]]))
  assert float(result["total_loss"]) == pytest.approx(-expected[0], rel=1e-6)


def test_bad_inputs():
  with pytest.raises(ValueError, match="Unknown output_distribution type 'laplace'"):
    awn.build_model(dict(TINY, output_distribution={"type": "laplace"}), 1, 2)
  short = {"autoregressive_input": np.zeros((1, 5, 1)), "conditioning_stack": np.zeros((1, 5, 2))}
  with pytest.raises(ValueError, match="shorter than the receptive field"):
    awn.check_inputs(short, TINY)
  nan = {"autoregressive_input": np.full((1, 64, 1), np.nan),
         "conditioning_stack": np.zeros((1, 64, 2))}
  with pytest.raises(ValueError, match="autoregressive_input holds 64 non-finite values"):
    awn.check_inputs(nan, TINY)
  model = awn.build_model(TINY, 1, 3)  # conditioning of another width than the checkpoint
  with pytest.raises(errors.CheckpointError, match="wrong shape: block_0/dilation_1/filter/conv1x1"):
    weights = checkpoint_import.weights_by_name(awn.build_model(TINY, 1, 2))
    checkpoint_import.assign_weights(model, weights, "tiny")
  with pytest.raises(ValueError, match="Unrecognized config name"):
    configurations.get_config("wavenet")


def test_gaussian_mixture_output(tmp_path):
  import keras
  hparams = dict(TINY, output_distribution={"type": "normal", "min_scale": 0.001,
                                            "predict_outlier_distribution": True})
  model = awn.build_model(hparams, 1, 2)
  # The original's unscoped variables, with their initial values.
  names = checkpoint_import.keras_weight_names(model)
  assert [float(names[n].numpy()[0]) for n in ("outlier_prob", "outlier_loc", "outlier_scale")] \
      == [0.5, 0.0, 1.0]
  names["outlier_prob"].assign([0.2])
  names["outlier_scale"].assign([3.0])
  rng = np.random.RandomState(1)
  features = {"autoregressive_input": rng.normal(size=(2, 30, 1)).astype(np.float32),
              "conditioning_stack": rng.normal(size=(2, 30, 2)).astype(np.float32)}
  params = awn.distribution_params(model(features)["dist_params"], hparams)
  x = features["autoregressive_input"]
  lp = awn.log_prob(params, tf.constant(x), hparams).numpy()
  normal = lambda v, m, s: np.exp(-0.5 * ((v - m) / s)**2) / (s * math.sqrt(2 * math.pi))
  expected = np.log(0.8 * normal(x, params["loc"].numpy(), params["scale"].numpy())
                    + 0.2 * normal(x, 0.0, 3.0))
  np.testing.assert_allclose(lp, expected, rtol=1e-5, atol=1e-6)
  # Saves and loads as .keras (the layer is registered), same outputs.
  model.save(str(tmp_path / "mixture.keras"))
  loaded = keras.models.load_model(str(tmp_path / "mixture.keras"))
  np.testing.assert_allclose(loaded(features)["dist_params"], model(features)["dist_params"])
