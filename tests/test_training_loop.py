"""The shared training layer (tf_util.training_loop, model_dir, inference) and the missions."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from astronet import missions
from astronet.astro_model import configurations
from astronet.ops import dataset_ops
from astronet.ops import prediction
from tf_util import errors
from tf_util import inference
from tf_util import model_dir
from tf_util import training_loop


def _linear(seed):
  keras.utils.set_random_seed(seed)
  inputs = keras.Input((3,))
  return keras.Model(inputs, keras.layers.Dense(1)(inputs))


def test_train_step_gives_each_group_the_gradient_of_its_own_loss():
  x = tf.constant(np.random.default_rng(0).normal(size=(8, 3)), tf.float32)
  y = tf.constant(np.arange(8) % 2, tf.float32)
  pair = [_linear(1), _linear(2)]
  alone = [_linear(1), _linear(2)]

  def loss_of(model, batch):
    return tf.reduce_mean(tf.square(model(batch[0])[:, 0] - batch[1]))

  optimizers = [keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1)]
  step = training_loop.make_train_step(
      lambda b: tf.stack([loss_of(m, b) for m in pair]),
      lambda: [m.trainable_variables for m in pair], optimizers)
  losses = step((x, y)).numpy()
  assert losses.shape == (2,)
  for model, trained, expected_loss in zip(alone, pair, losses):
    single = training_loop.make_train_step(lambda b, m=model: loss_of(m, b),
                                           lambda m=model: [m.trainable_variables],
                                           [keras.optimizers.SGD(0.1)])
    assert float(single((x, y))) == pytest.approx(expected_loss, rel=1e-6)
    for a, b in zip(model.get_weights(), trained.get_weights()):
      np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_run_steps_runs_hooks_and_stops_on_a_non_finite_loss():
  counter = tf.Variable(0, dtype=tf.int64)
  seen = []

  def step(batch):
    counter.assign_add(1)
    return np.float32(batch)

  training_loop.run_steps(step, iter([1.0] * 10), counter, 5,
                          [training_loop.Every(2, seen.append)], verbose=False)
  assert seen == [2, 4, 5] and int(counter.numpy()) == 5
  with pytest.raises(FloatingPointError, match="at step 7"):
    training_loop.run_steps(step, iter([1.0, np.nan]), counter, 9, verbose=False)


def test_run_steps_writes_the_mean_loss_every_summary_steps(tmp_path):
  counter = tf.Variable(0, dtype=tf.int64)
  writers = [tf.summary.create_file_writer(str(tmp_path / name)) for name in ("a", "b")]

  def step(batch):
    counter.assign_add(1)
    return np.array([batch, 10 * batch], np.float32)  # Two members' losses.

  training_loop.run_steps(step, iter([1.0, 2.0, 3.0, 4.0, 5.0]), counter, 5, [], writers,
                          verbose=False, summary_every_steps=2)
  for name, scale in (("a", 1), ("b", 10)):
    written = []
    for path in sorted((tmp_path / name).iterdir()):
      for event in tf.compat.v1.train.summary_iterator(str(path)):
        for value in event.summary.value:
          written.append((event.step, float(tf.make_ndarray(value.tensor))))
    # Steps 1-2, 3-4 and the last one, 5.
    assert written == [(2, 1.5 * scale), (4, 3.5 * scale), (5, 5.0 * scale)]


def test_run_epochs_stops_when_the_hook_says_so():
  epochs = []
  run = training_loop.run_epochs(lambda b: b, [1.0, 3.0], 10,
                                 lambda epoch, loss: epochs.append((epoch, loss)) or epoch == 2)
  assert run == 3 and epochs == [(0, 2.0), (1, 2.0), (2, 2.0)]


def test_compute_policy_always_restores_float32():
  with pytest.raises(RuntimeError):
    with training_loop.compute_policy(True):
      assert keras.mixed_precision.global_policy().name == "mixed_float16"
      raise RuntimeError
  assert keras.mixed_precision.global_policy().name == "float32"


def test_model_dir_refuses_another_model_and_restores_or_explains(tmp_path):
  model_dir.prepare(str(tmp_path), {"model": "A", "config": {"x": 1}})
  model_dir.prepare(str(tmp_path), {"model": "A", "config": {"x": 1}})  # the same: fine
  with pytest.raises(errors.CheckpointError, match="already holds a different model"):
    model_dir.prepare(str(tmp_path), {"model": "B", "config": {"x": 1}})
  model_dir.append_run(str(tmp_path), {"seed": 1})
  model_dir.append_run(str(tmp_path), {"seed": 2})
  runs = json.loads((tmp_path / model_dir.TRAINING_LOG).read_text())["runs"]
  assert [r["seed"] for r in runs] == [1, 2]
  model = _linear(0)
  _, manager = model_dir.make_checkpoint(str(tmp_path), 2, model=model)
  manager.save(checkpoint_number=3)
  assert model_dir.checkpoint_step(manager.latest_checkpoint) == 3
  other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
  with pytest.raises(errors.CheckpointError, match="does not fit Other"):
    model_dir.restore_latest(tf.train.Checkpoint(model=other), str(tmp_path), model_name="Other")
  assert model_dir.restore_latest(tf.train.Checkpoint(model=_linear(5)), str(tmp_path / "none")) \
      is None


def test_probabilities_are_tensorflow_float32():
  logits = np.array([[-3.0], [0.0], [20.0]], np.float32)
  p = inference.probabilities(logits)
  assert p.dtype == np.float32 and p.shape == (3,)
  np.testing.assert_array_equal(p, tf.sigmoid(logits[:, 0]).numpy())
  softmax = inference.probabilities(np.array([[0.0, np.log(3.0)]], np.float32))
  np.testing.assert_allclose(softmax, [[0.25, 0.75]], rtol=1e-6)
  np.testing.assert_allclose(inference.positive_class_probability([[0.0, np.log(3.0)]]), [0.75],
                             rtol=1e-6)
  multi = inference.probabilities(np.zeros([2, 3], np.float32), multi_label=True)
  np.testing.assert_array_equal(multi, np.full([2, 3], 0.5, np.float32))


def test_every_mission_fact_derives_from_the_mission():
  for name, mission in missions.MISSIONS.items():
    assert configurations.VIEW_LENGTHS[name] == mission.view_lengths
    base = configurations.base(name)["inputs"]
    assert base["label_feature"] == mission.label_column
    assert base["label_map"] == dict(mission.label_map)
    assert missions.of_view_lengths(dict(zip(("global_view", "local_view"),
                                             mission.view_lengths))) is mission
  assert dataset_ops.KEPLER_LABEL_MAP == {"PC": 1, "AFP": 0, "NTP": 0}
  assert dataset_ops.TESS_LABEL_MAP == dict(missions.TESS.label_map)
  assert prediction.KEPLER_KEYS == ("kepid", "tce_plnt_num", "av_training_set")
  assert prediction.TESS_KEYS == ("tic_id", "Sectors", "Disposition")
  assert missions.of_view_lengths({"global_view": 2001, "local_view": 61}) is None
  assert missions.of_view_lengths({"secondary_view": 201}) is None
  assert missions.TESS.describe({"tic_id": 7, "Sectors": 3}) == "TIC 7 sector 3"
  assert missions.KEPLER.describe({"kepid": 11442793, "tce_plnt_num": 1}) == "KIC 11442793 TCE 1"
  with pytest.raises(ValueError, match="Unknown mission 'k2'"):
    missions.get_mission("k2")
