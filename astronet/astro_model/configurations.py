"""Base configurations of every Astronet model, for Kepler and for TESS (Triage).

Values are those of the originals: exoplanet-ml (Kepler: 2001/201-bin views,
av_training_set labels, batch 256, lr 2e-4) and Astronet-Triage (TESS:
201/61-bin views, Disposition labels with PC and EB positive, batch 64,
lr 1e-5). Configs are plain dicts: {"inputs": {...}, "hparams": {...}}.
"""

from __future__ import annotations

import copy

from light_curve_util import views

MISSIONS = ("kepler", "tess")

# Label string -> id, exactly as the originals' configs.
KEPLER_LABEL_MAP = {
    "PC": 1,  # Planet candidate.
    "AFP": 0,  # Astrophysical false positive.
    "NTP": 0,  # Non-transiting phenomenon.
    "SCR1": 0,  # TCE from a scrambled light curve.
    "INV": 0,  # TCE from an inverted light curve.
    "INJ1": 1,  # Injected planet.
    "INJ2": 0,  # Simulated eclipsing binary.
}
TESS_LABEL_MAP = {"PC": 1, "EB": 1, "J": 0, "V": 0, "IS": 0, "O": 0}
# The DR24 labels of Kepler training records (the catalog reader keeps only these).
KEPLER_TRAINING_LABELS = ("PC", "AFP", "NTP")

# (global_view, local_view) lengths, from the views' definitions (light_curve_util.views).
VIEW_LENGTHS = {
    "kepler": (views.KEPLER_GLOBAL_VIEW.num_bins, views.KEPLER_LOCAL_VIEW.num_bins),
    "tess": (views.TESS_GLOBAL_VIEW.num_bins, views.TESS_LOCAL_VIEW.num_bins),
}


def mission_of(feature_lengths) -> str | None:
  """The mission whose view lengths {name: length} has (views it lacks are not
  compared); None for no global_view / local_view or other lengths."""
  if "global_view" not in feature_lengths and "local_view" not in feature_lengths:
    return None
  for mission, (global_length, local_length) in VIEW_LENGTHS.items():
    if (feature_lengths.get("global_view", global_length) == global_length and
        feature_lengths.get("local_view", local_length) == local_length):
      return mission
  return None


def check_mission(mission: str) -> str:
  if mission not in MISSIONS:
    raise ValueError("Unknown mission {!r}; expected one of {}".format(
        mission, MISSIONS))
  return mission


def base(mission: str = "kepler") -> dict:
  """One global_view time series, no hidden layers (the AstroModel base)."""
  check_mission(mission)
  kepler = mission == "kepler"
  return {
      "inputs": {
          "features": {
              "global_view": {
                  "length": VIEW_LENGTHS[mission][0],
                  "is_time_series": True,
              },
          },
          "label_feature": "av_training_set" if kepler else "Disposition",
          "label_map": copy.deepcopy(KEPLER_LABEL_MAP if kepler else TESS_LABEL_MAP),
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
