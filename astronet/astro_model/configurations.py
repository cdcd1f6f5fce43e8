"""Base configurations of every Astronet model, for Kepler and for TESS (Triage).

Values are those of the originals: exoplanet-ml (Kepler: 2001/201-bin views,
av_training_set labels, batch 256, lr 2e-4) and Astronet-Triage (TESS:
201/61-bin views, Disposition labels with PC and EB positive, batch 64,
lr 1e-5). Configs are plain dicts: {"inputs": {...}, "hparams": {...}}.
"""

from __future__ import annotations

from astronet import missions

MISSIONS = tuple(missions.MISSIONS)

# Label string -> id, exactly as the originals' configs (astronet.missions).
KEPLER_LABEL_MAP = dict(missions.KEPLER.label_map)
TESS_LABEL_MAP = dict(missions.TESS.label_map)
# The DR24 labels of Kepler training records (the catalog reader keeps only these).
KEPLER_TRAINING_LABELS = missions.KEPLER.training_labels

# (global_view, local_view) lengths, from the views' definitions (light_curve_util.views).
VIEW_LENGTHS = {name: mission.view_lengths for name, mission in missions.MISSIONS.items()}


def mission_of(feature_lengths) -> str | None:
  """The name of the mission whose view lengths {name: length} has (views it lacks
  are not compared); None for no global_view / local_view or other lengths."""
  mission = missions.of_view_lengths(feature_lengths)
  return None if mission is None else mission.name


def feature_lengths(config) -> dict[str, int]:
  """{feature name: length} of a model config's input features."""
  return {name: int(spec["length"])
          for name, spec in config["inputs"]["features"].items()}


def check_mission(mission: str) -> str:
  """`mission` if it names a mission (ValueError otherwise)."""
  return missions.get_mission(mission).name


def base(mission: str = "kepler") -> dict:
  """One global_view time series, no hidden layers (the AstroModel base)."""
  description = missions.get_mission(mission)
  kepler = description is missions.KEPLER
  return {
      "inputs": {
          "features": {
              "global_view": {
                  "length": VIEW_LENGTHS[mission][0],
                  "is_time_series": True,
              },
          },
          "label_feature": description.label_column,
          "label_map": dict(description.label_map),
      },
      "hparams": {
          # 1: sigmoid output (binary); >= 2: softmax.
          "output_dim": 1,
          "num_pre_logits_hidden_layers": 0,
          "pre_logits_hidden_layer_size": 0,
          "pre_logits_dropout_rate": 0.0,
          "batch_size": 256 if kepler else 64,
          "learning_rate": 2e-4 if kepler else 1e-5,
          "learning_rate_decay_steps": 0,
          "learning_rate_end_factor": 0.0,
          "learning_rate_decay_power": 1.0,
          "weight_decay": 0.0,
          "label_smoothing": 0.0,
          "optimizer": "adam",
          # The Triage original looked up `clip_grad_norm`, so this never took
          # effect there; here it does.
          "clip_gradient_norm": None,
      },
  }


def local_global_features(mission: str) -> dict:
  """local_view and global_view time series of the mission's lengths."""
  global_length, local_length = VIEW_LENGTHS[check_mission(mission)]
  return {
      "local_view": {"length": local_length, "is_time_series": True},
      "global_view": {"length": global_length, "is_time_series": True},
  }
