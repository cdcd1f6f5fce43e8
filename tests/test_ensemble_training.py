"""Training the ensemble members as one Keras model (EnsembleTrainer)."""

import os

import numpy as np
import pytest

from astronet import models
from astronet.ops import dataset_ops
from astronet.ops import ensemble_training
from astronet.ops import model_loading
from astronet.ops import training
from astronet.util import config_util
from tf_util import errors

FAST = {"hparams": {"batch_size": 16, "learning_rate": 1e-4}}
STEPS = 6


@pytest.fixture(scope="module")
def train_files(test_data):
  return str(test_data / "triage" / "records" / "train-slice-00000-of-00001")


def tess_config():
  return config_util.apply_overrides(
      models.get_model_config("AstroCNNModel", "local_global", "tess"), FAST)


def test_member_weights_equal_a_member_trained_alone(train_files, tmp_path):
  """Same seed, same data order: a member of the stacked model ends with the
  weights train.py --seed gives it alone (<= 1e-5 after STEPS Adam steps)."""
  import keras
  seeds = [3, 7]
  ensemble = ensemble_training.EnsembleTrainer("AstroCNNModel", tess_config(),
                                               str(tmp_path / "ensemble"), seeds)
  assert int(ensemble.model.outputs[0].shape[1]) == 2
  ensemble.train(train_files, STEPS, save_every_steps=STEPS, shuffle_buffer_size=64,
                 verbose=False)

  for index, seed in enumerate(seeds):
    keras.utils.set_random_seed(seed)  # What train.py --seed does first.
    alone = training.Trainer("AstroCNNModel", tess_config(), str(tmp_path / "alone{}".format(seed)))
    alone.train(train_files, STEPS, save_every_steps=STEPS, shuffle_buffer_size=64,
                seed=seed, verbose=False)
    member = ensemble.members[index]
    deltas = [np.max(np.abs(a - b)) for a, b in zip(member.get_weights(),
                                                   alone.model.get_weights())]
    assert max(deltas) <= 1e-5, (seed, max(deltas))
    # And they moved: the comparison is not between two initial states.
    keras.utils.set_random_seed(seed)
    initial = models.build_model("AstroCNNModel", tess_config())
    assert max(np.max(np.abs(a - b)) for a, b in zip(member.get_weights(),
                                                     initial.get_weights())) > 1e-4
  # The two members differ (different seeds).
  assert not np.allclose(ensemble.members[0].get_weights()[0],
                         ensemble.members[1].get_weights()[0])


def test_member_dirs_are_ordinary_model_dirs(train_files, tmp_path):
  ensemble = ensemble_training.EnsembleTrainer("AstroCNNModel", tess_config(),
                                               str(tmp_path), [1, 2])
  ensemble.train(train_files, 4, eval_files=train_files, eval_every_steps=4,
                 save_every_steps=2, shuffle_buffer_size=64, verbose=False)
  for index in (1, 2):
    directory = tmp_path / "model_{}".format(index)
    assert (directory / "ckpt-4.index").exists() and (directory / "model.keras").exists()
    model, name, config = model_loading.load_model(str(directory), "AstroCNNModel")
    np.testing.assert_array_equal(model.get_weights()[0],
                                  ensemble.members[index - 1].get_weights()[0])
    # train.py's Trainer resumes a member where the ensemble left it.
    resumed = training.Trainer("AstroCNNModel", config, str(directory))
    assert int(resumed.step.numpy()) == 4
  # The stacked model (saved and reloaded) predicts what each member predicts.
  import keras
  ensemble.model.save(str(tmp_path / "stacked.keras"))
  stacked = keras.models.load_model(str(tmp_path / "stacked.keras"))
  features, _ = next(iter(dataset_ops.make_dataset(tess_config(), train_files, False)))
  both = {k: np.stack([v.numpy(), v.numpy()], axis=1) for k, v in features.items()}
  logits = stacked.predict(both, verbose=0)
  for index in (0, 1):
    np.testing.assert_allclose(logits[:, index],
                               ensemble.members[index].predict(features, verbose=0),
                               atol=1e-6)
  # Resuming the ensemble itself continues from step 4.
  again = ensemble_training.EnsembleTrainer("AstroCNNModel", tess_config(),
                                            str(tmp_path), [1, 2])
  assert int(again.step.numpy()) == 4


def test_members_at_different_steps_are_refused(train_files, tmp_path):
  ensemble = ensemble_training.EnsembleTrainer("AstroCNNModel", tess_config(),
                                               str(tmp_path), [1, 2])
  ensemble.train(train_files, 2, save_every_steps=2, shuffle_buffer_size=64, verbose=False)
  alone = training.Trainer("AstroCNNModel", tess_config(), str(tmp_path / "model_2"))
  alone.train(train_files, 3, save_every_steps=3, shuffle_buffer_size=64, verbose=False)
  with pytest.raises(errors.CheckpointError, match="different steps"):
    ensemble_training.EnsembleTrainer("AstroCNNModel", tess_config(), str(tmp_path), [1, 2])


def test_train_ensemble_cli_then_batch_predict_average(train_files, test_data, tmp_path):
  import json
  import subprocess
  import sys

  from tests.conftest import ROOT
  env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
  run = lambda script, *args: subprocess.run(
      [sys.executable, str(ROOT / "astronet" / script), *args], env=env,
      capture_output=True, text=True, timeout=600, cwd=tmp_path)
  proc = run("train_ensemble.py", "--train_files=" + train_files, "--model_dir=ens",
             "--train_steps=2", "--num_models=2", "--seed_base=10",
             "--intra_op_threads=1", "--inter_op_threads=2",
             "--shuffle_buffer_size=64", "--config_overrides=" + json.dumps(FAST))
  assert proc.returncode == 0, proc.stderr[-2000:]
  runs = json.loads((tmp_path / "ens" / "model_2" / "training.json").read_text())["runs"]
  assert runs[-1]["seed"] == 12 and runs[-1]["end_step"] == 2
  record_dir = str(test_data / "triage" / "records")
  proc = run("batch_predict.py", "--model_dir=ens", "--average", "--tfrecord_dir=" + record_dir,
             "--tfrecord_pattern=val*", "--suffix=ens")
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert len((tmp_path / "prediction_ens.txt").read_text().splitlines()) > 0
  proc = run("train_ensemble.py", "--train_files=" + train_files, "--model_dir=e2",
             "--num_models=2", "--seed=3")
  assert proc.returncode != 0 and "--seed is not supported" in proc.stderr


def test_set_up_early_sizes_the_thread_pools():
  import subprocess
  import sys

  from tests.conftest import ROOT
  code = ("from tf_util import distribute; distribute.set_up_early(None, 1, 2); "
          "import tensorflow as tf; tf.constant(1.0) + 1; "
          "print(tf.config.threading.get_intra_op_parallelism_threads(), "
          "tf.config.threading.get_inter_op_parallelism_threads())")
  proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                        timeout=120, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert proc.stdout.split() == ["1", "2"]


def test_mixed_precision_and_xla_ensemble_steps(train_files, tmp_path):
  """float16 compute keeps float32 weights and logits and losses near float32's;
  the XLA step gives the plain step's losses."""
  losses = {}
  for name, options in (("plain", {}), ("xla", {"jit_compile": True}),
                        ("mixed", {"mixed_precision": True})):
    ensemble = ensemble_training.EnsembleTrainer("AstroCNNModel", tess_config(),
                                                 str(tmp_path / name), [5, 6], **options)
    batch = next(iter(ensemble.train_dataset(train_files, 64)))
    losses[name] = [ensemble._train_step(batch).numpy() for _ in range(3)]  # pylint: disable=protected-access
    assert ensemble.model.outputs[0].dtype == "float32"
    assert all(v.dtype == "float32" for v in ensemble.members[0].trainable_variables)
  np.testing.assert_allclose(losses["xla"], losses["plain"], rtol=1e-4)
  np.testing.assert_allclose(losses["mixed"], losses["plain"], rtol=2e-2)
