"""Astronet (Shallue & Vanderburg 2018) and Astronet-Triage (Yu et al. 2019) in TF2 / Keras 3.

    import astronet
    p = astronet.predict_lightcurve("triage", lc, period=3.2, t0=1355.47, duration=0.13)

Importing the package loads neither TensorFlow nor a reader.
"""

from __future__ import annotations


def predict_lightcurve(model, lc, period: float, t0: float, duration: float,
                       mission: str | None = None) -> float:
  """Probability that a TCE is a planet candidate (Triage: PC or EB), from a light curve.

  Args:
    model: A shipped model's name (astronet.pretrained, e.g. "triage"), a path
      of any model form (model_dir, TF1 dir, .keras, SavedModel, comma-separated
      members), or a loaded prediction.Member / Keras model.
    lc: lightkurve LightCurve / LightCurveCollection (or .time / .flux arrays).
    period, t0, duration: days (t0 in the light curve's BKJD / BTJD).
    mission: "kepler" or "tess"; default: the model's (by its view lengths).

  Raises:
    CheckpointError, InvalidTCEError, EmptyLightCurveError: clear errors.
  """
  # pylint: disable=import-outside-toplevel
  import numpy as np  # noqa: PLC0415  (the package loads nothing)

  from astronet import missions  # noqa: PLC0415
  from astronet import pretrained  # noqa: PLC0415
  from astronet.data import tce_views  # noqa: PLC0415
  from astronet.ops import prediction  # noqa: PLC0415  (TensorFlow)
  from tf_util import errors  # noqa: PLC0415
  if isinstance(model, str):
    paths = (",".join(pretrained.model_files(model, "astronet"))
             if model in pretrained.entries() else model)
    members = prediction.load_members(paths, False)
  elif isinstance(model, prediction.Member):
    members = [model]
  else:
    members = [prediction.Member("model", model, {t.name: int(t.shape[-1]) for t in model.inputs})]
  lengths = members[0].feature_lengths
  of_model = missions.of_view_lengths(lengths)
  if of_model is None:
    raise errors.CheckpointError("Cannot tell the mission of a model with views {}".format(
        lengths))
  if mission is not None and missions.get_mission(mission) is not of_model:
    raise errors.CheckpointError("The model takes {} views, not {} ones".format(
        of_model.name, mission))
  views = tce_views.views_from_lightcurve(lc, period, t0, duration, of_model)
  batch = {name: np.asarray(views[name], np.float32)[None] for name in lengths}
  return float(np.mean([m.probabilities(batch)[0] for m in members]))
