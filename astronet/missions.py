"""One description per mission: Kepler (Astronet) and TESS (Astronet-Triage).

Everything that differs between the two pipelines is here, and every other
module derives what it needs from it: the view configs and lengths (from
light_curve_util.views), the label maps, the catalog columns, the record
features that key a TCE, and the light-curve format read by default. Plain
data; importing it loads neither TensorFlow nor a file reader.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping

from light_curve_util import views
from tf_util import errors


@dataclasses.dataclass(frozen=True)
class Mission:
  """What differs between the Kepler and TESS pipelines.

  Attributes:
    name: "kepler" or "tess".
    star_prefix: How a star is named in messages ("KIC", "TIC").
    global_view: `ViewConfig` of the global view.
    local_view: `ViewConfig` of the local view.
    label_map: Every label string of the original config -> class id.
    training_labels: The labels kept in training records (Kepler DR24: PC,
      AFP, NTP; TESS: all).
    id_column: Catalog column of the star id.
    period_column: Catalog column of the period (days).
    t0_column: Catalog column of the first event centre (BKJD / BTJD days).
    duration_column: Catalog column of the duration (days once read).
    label_column: Catalog column of the training label.
    snr_column: Catalog column of the detection signal-to-noise (`--clean`).
    sector_column: Catalog column of the TESS sector (None: no sectors).
    sub_id_column: Record feature telling a star's TCEs apart (TESS: the
      sector, Kepler: the planet number).
    light_curve_format: The reader (preprocess.READERS): "kepler_fits" (MAST
      llc FITS, all quarters); for TESS "triage_h5" (the Triage h5 layout),
      "spoc" / "qlp" (MAST FITS, one file per TIC and sector) or "auto" (the
      first of those that exists).
    flux_column: FITS flux column (None: the pipeline's default, see
      light_curve_util.tess_io.FLUX_COLUMNS).
    sectors: "catalog" (a TCE's own sector, the original's behaviour) or "all"
      (every sector of the TIC found, stitched with per-sector normalisation).
  """
  name: str
  star_prefix: str
  global_view: views.ViewConfig
  local_view: views.ViewConfig
  label_map: Mapping[str, int]
  training_labels: tuple[str, ...]
  id_column: str
  period_column: str
  t0_column: str
  duration_column: str
  label_column: str
  snr_column: str
  sub_id_column: str
  light_curve_format: str
  sector_column: str | None = None
  flux_column: str | None = None
  sectors: str = "catalog"

  def __hash__(self) -> int:
    # A Mission keys caches (preprocess's star cache), and its label map is a
    # read-only mapping, which does not hash.
    return hash((self.name, self.light_curve_format, self.flux_column, self.sectors))

  @property
  def has_sectors(self) -> bool:
    """Whether a light curve is one sector of a star (TESS) rather than all of it."""
    return self.sector_column is not None

  @property
  def tess_format(self) -> str:
    """light_curve_format as --tess_format names it ("h5" for the Triage h5)."""
    return {"triage_h5": "h5"}.get(self.light_curve_format, self.light_curve_format)

  @property
  def view_lengths(self) -> tuple[int, int]:
    """(global_view, local_view) lengths (number of bins)."""
    return self.global_view.num_bins, self.local_view.num_bins

  @property
  def training_label_map(self) -> dict[str, int]:
    """label_map restricted to the training labels."""
    return {label: self.label_map[label] for label in self.training_labels}

  @property
  def record_keys(self) -> tuple[str, str, str]:
    """(star id, per-star TCE number, label) features of this mission's records."""
    return self.id_column, self.sub_id_column, self.label_column

  def tce_params(self, tce) -> tuple[float, float, float]:
    """(period, t0, duration) of a catalog row, as floats (days)."""
    return (float(tce[self.period_column]), float(tce[self.t0_column]),
            float(tce[self.duration_column]))

  def describe(self, tce) -> str:
    """Short name of a catalog row for logs and errors."""
    if self.has_sectors:
      return "{} {} sector {}".format(self.star_prefix, tce[self.id_column],
                                      tce[self.sector_column])
    return "{} {} TCE {}".format(self.star_prefix, tce[self.id_column],
                                 tce.get(self.sub_id_column, "?"))


KEPLER = Mission(
    "kepler", "KIC", views.KEPLER_GLOBAL_VIEW, views.KEPLER_LOCAL_VIEW,
    label_map=types.MappingProxyType({
        "PC": 1,  # Planet candidate.
        "AFP": 0,  # Astrophysical false positive.
        "NTP": 0,  # Non-transiting phenomenon.
        "SCR1": 0,  # TCE from a scrambled light curve.
        "INV": 0,  # TCE from an inverted light curve.
        "INJ1": 1,  # Injected planet.
        "INJ2": 0,  # Simulated eclipsing binary.
    }),
    training_labels=("PC", "AFP", "NTP"),
    id_column="kepid", period_column="tce_period", t0_column="tce_time0bk",
    duration_column="tce_duration", label_column="av_training_set",
    snr_column="tce_model_snr", sub_id_column="tce_plnt_num",
    light_curve_format="kepler_fits")
TESS = Mission(
    "tess", "TIC", views.TESS_GLOBAL_VIEW, views.TESS_LOCAL_VIEW,
    label_map=types.MappingProxyType({"PC": 1, "EB": 1, "J": 0, "V": 0, "IS": 0, "O": 0}),
    training_labels=("PC", "EB", "J", "V", "IS", "O"),
    id_column="tic_id", period_column="Period", t0_column="Epoc",
    duration_column="Duration", label_column="Disposition", snr_column="SN",
    sub_id_column="Sectors", light_curve_format="auto", sector_column="Sectors")

MISSIONS = {m.name: m for m in (KEPLER, TESS)}


def get_mission(name: str) -> Mission:
  """The `Mission` called `name` ("kepler" or "tess").

  Raises:
    ValueError: Another name.
  """
  try:
    return MISSIONS[name]
  except KeyError:
    raise ValueError("Unknown mission {!r}; expected one of {}".format(
        name, sorted(MISSIONS))) from None


TESS_FORMATS = {"auto": "auto", "h5": "triage_h5", "spoc": "spoc", "qlp": "qlp"}


def with_light_curves(mission: Mission, tess_format: str | None = None,
                      flux_column: str | None = None, sectors: str | None = None) -> Mission:
  """`mission` reading TESS light curves in `tess_format` ("auto", "h5", "spoc",
  "qlp"; None: the mission's own) and `flux_column`.

  Raises:
    ConfigError: A TESS format for Kepler, an unknown format, or a flux column
      for h5 files.
  """
  if tess_format is None and flux_column is None and sectors in (None, "catalog"):
    return mission
  if sectors not in (None, "catalog", "all"):
    raise errors.ConfigError("--sectors must be catalog or all, got {!r}".format(sectors))
  if not mission.has_sectors:
    raise errors.ConfigError("--tess_format / --flux_column apply to TESS, not {}".format(
        mission.name))
  if tess_format is not None and tess_format not in TESS_FORMATS:
    raise errors.ConfigError("--tess_format must be one of {}, got {!r}".format(
        sorted(TESS_FORMATS), tess_format))
  if tess_format == "h5" and flux_column:
    raise errors.ConfigError("--flux_column applies to FITS light curves, not the Triage h5 "
                             "(which holds KSP magnitudes)")
  fmt = TESS_FORMATS[tess_format] if tess_format else mission.light_curve_format
  return dataclasses.replace(mission, light_curve_format=fmt, flux_column=flux_column,
                             sectors=sectors or "catalog")


def of_view_lengths(feature_lengths: Mapping[str, int]) -> Mission | None:
  """The mission whose views {name: length} has (views it lacks are not compared);
  None for no global_view / local_view, or other lengths."""
  for mission in MISSIONS.values():
    expected = dict(zip(("global_view", "local_view"), mission.view_lengths))
    shared = set(expected) & set(feature_lengths)
    if shared and all(feature_lengths[k] == expected[k] for k in shared):
      return mission
  return None
