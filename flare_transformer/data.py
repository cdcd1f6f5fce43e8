"""TESS 2-min light curves -> labelled 100-cadence windows of 3 features for flare detection.

Per light curve (SPOC `*_lc.fits`, read by light_curve_util.tess_io, flagged cadences kept):
* rows with finite TIME and flux are kept in file order; flagged cadences stay
  (their QUALITY != 0 is the third feature) — the rule of the fixtures'
  reference windows (windows100_labels_fixtures.csv);
* flux -> relative flux f / median(f) - 1, in units of the light curve's
  noise sigma (1.4826 * MAD of the cadence-to-cadence differences / sqrt 2), so
  one window looks alike on quiet and noisy stars;
* features per cadence: [normalised flux minus the window's median,
  its gradient (numpy.gradient per cadence), quality flag (0/1)].

Labels: a window is a flare (1) when a catalogue peak of its star lies in
[t_first - 1 min, t_last + 1 min] (the fixtures' rule). Synthetic flares
(Davenport 2014 or Mendoza 2022 template, 10x up-sampled and binned to the
cadence) are injected into copies of real windows without catalogued flares,
with t_1/2 and amplitude drawn log-uniformly (config data.synthetic); each keeps
its amplitude (relative flux), t_1/2 (days) and equivalent duration
(ED = integral of the relative flux, seconds), the energy proxy used for the
low-energy breakdown. Some injected windows get two flares ("multiple").

Splits are BY STAR (TIC): stars are shuffled with the seed and cut
train/val/test by the configured fractions, so no star is in two splits.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import os

import numpy as np

from light_curve_util import tess_io
from tf_util import atomic_io
from tf_util import errors
from tf_util import hashing

WINDOW = 100
CADENCE_DAYS = 2.0 / 60 / 24
FEATURES = ("flux", "gradient", "quality")
MINUTE = 1.0 / 60 / 24

# Davenport et al. 2014 template (full-precision coefficients).
_DAVENPORT_RISE = (1.0, 1.94053, -0.175084, -2.24588, -1.12498)
_DAVENPORT_DECAY = (0.689008, -1.60053, 0.302963, -0.278318)
# Tovar Mendoza et al. 2022 template (MCMC medians).
_MENDOZA = dict(A=0.9687734504375167, B=-0.251299705922117, C=0.22675974948468916,
                D1=0.15551880775110513, D2=1.2150539528490194, f1=0.12695865022878844)
_MENDOZA_PEAK = 0.9502  # the unscaled template's maximum


@dataclasses.dataclass
class LightCurve:
  """One star's light curve. time: BTJD days; flux: relative (f / median - 1);
  quality: bool, QUALITY != 0; noise: sigma of the relative flux."""
  tic: int
  sector: int | None
  time: np.ndarray
  flux: np.ndarray
  quality: np.ndarray
  noise: float
  path: str = ""


def read_light_curve(path: str, flux_column: str = "PDCSAP_FLUX") -> LightCurve:
  """Reads a SPOC light curve (see module docstring).

  Raises:
    LightCurveFileError / MissingFieldError: Unreadable file or missing column.
    EmptyLightCurveError: Fewer than WINDOW finite cadences, or all flagged.
  """
  # The one TESS FITS reader, keeping flagged cadences (their flag is a feature).
  time, flux, meta = tess_io.read_tess_fits_light_curve(path, "spoc", flux_column,
                                                        keep_flagged=True)
  tic = meta["tic_id"]
  if tic is None:
    raise errors.MissingFieldError("{}: no TICID in the primary header".format(path), path)
  return light_curve_from_arrays(int(tic), meta["sector"], time, flux, meta["flagged"], path,
                                 flux_column)


def light_curve_from_arrays(tic: int, sector, time, flux, flagged, path: str = "",
                            flux_column: str = "flux") -> LightCurve:
  """A LightCurve from finite time (days), flux and flag arrays: relative flux
  f / median(unflagged f) - 1 and its noise sigma.

  Raises:
    EmptyLightCurveError: Fewer than WINDOW cadences, or all flagged.
    LightCurveFileError: A non-positive median flux.
  """
  time, flux = np.asarray(time, np.float64), np.asarray(flux, np.float64)
  quality = np.asarray(flagged, bool)
  if len(time) < WINDOW:
    raise errors.EmptyLightCurveError("{}: {} finite cadences of {}; a window needs {}".format(
        path, len(time), flux_column, WINDOW))
  if quality.all():
    raise errors.EmptyLightCurveError("{}: every cadence is flagged".format(path))
  median = np.median(flux[~quality])
  if not median > 0:
    raise errors.LightCurveFileError("{}: median {} flux is {}".format(path, flux_column, median),
                                     path)
  relative = flux / median - 1.0
  return LightCurve(int(tic), sector, time, relative, quality,
                    noise_sigma(relative[~quality]), path)


def light_curve_from_lightkurve(lc) -> LightCurve:
  """A LightCurve from a lightkurve TESS light curve (its flux column and QUALITY
  flags; read it with quality_bitmask="none" to keep flagged cadences as the FITS
  reader does).

  Raises:
    InvalidTCEError: No time / flux; EmptyLightCurveError: too short.
  """
  if not (hasattr(lc, "time") and hasattr(lc, "flux")):
    raise errors.InvalidTCEError("Not a light curve: {!r} has no time / flux".format(
        type(lc).__name__))
  time = np.asarray(getattr(lc.time, "value", lc.time), np.float64)
  flux = np.ma.filled(np.ma.masked_invalid(np.ma.asarray(
      getattr(getattr(lc.flux, "unmasked", lc.flux), "value", lc.flux), np.float64)), np.nan)
  if getattr(lc.flux, "mask", None) is not None:
    flux = np.where(np.asarray(lc.flux.mask), np.nan, flux)
  quality = np.asarray(lc["quality"]) if "quality" in getattr(lc, "colnames", ()) else \
      np.zeros(len(time), int)
  finite = np.isfinite(time) & np.isfinite(flux)
  meta = getattr(lc, "meta", {}) or {}
  return light_curve_from_arrays(int(meta.get("TICID") or meta.get("TARGETID") or 0),
                                 meta.get("SECTOR"), time[finite], flux[finite],
                                 np.asarray(quality)[finite] != 0,
                                 str(meta.get("FILENAME", "lightkurve light curve")))


def noise_sigma(flux: np.ndarray) -> float:
  """Robust white-noise sigma: 1.4826 * MAD of the differences / sqrt(2) (flares and slow
  variability barely move it)."""
  diff = np.diff(flux)
  mad = np.median(np.abs(diff - np.median(diff)))
  sigma = 1.4826 * mad / np.sqrt(2.0)
  return float(sigma) if sigma > 0 else float(np.std(flux) or 1.0)


def window_starts(num_cadences: int, window: int = WINDOW, stride: int = WINDOW) -> np.ndarray:
  """Start rows of the windows [s, s + window) (remainder dropped)."""
  if stride < 1:
    raise ValueError("window stride must be >= 1, got {}".format(stride))
  return np.arange(0, num_cadences - window + 1, stride)


def window_features(flux: np.ndarray, quality: np.ndarray, noise: float,
                    starts: np.ndarray, window: int = WINDOW) -> np.ndarray:
  """float32 [n, window, 3] features (see module docstring) of relative flux rows."""
  index = np.asarray(starts)[:, None] + np.arange(window)[None, :]
  if index.size and index.max() >= len(flux):
    raise ValueError("windows of {} cadences from rows {} run past a light curve of {}".format(
        window, list(starts[:3]), len(flux)))
  values = flux[index] / noise
  values = values - np.median(values, axis=1, keepdims=True)
  gradient = np.gradient(values, axis=1) if window > 1 else np.zeros_like(values)
  return np.stack([values, gradient, quality[index].astype(np.float64)],
                  axis=-1).astype(np.float32)


def davenport_template(x: np.ndarray) -> np.ndarray:
  """Davenport et al. 2014 flare shape at x = (t - t_peak) / t_half (peak 1)."""
  x = np.asarray(x, np.float64)
  r = _DAVENPORT_RISE
  d = _DAVENPORT_DECAY
  rise = r[0] + r[1] * x + r[2] * x**2 + r[3] * x**3 + r[4] * x**4
  after = np.maximum(x, 0.0)  # the decay is only used for x > 0 (no overflow elsewhere)
  decay = d[0] * np.exp(d[1] * after) + d[2] * np.exp(d[3] * after)
  return np.where(x < -1, 0.0, np.where(x <= 0, rise, decay))


def mendoza_template(x: np.ndarray) -> np.ndarray:
  """Tovar Mendoza et al. 2022 flare shape at x = (t - t_peak) / t_half, scaled to peak 1."""
  from scipy import special  # noqa: PLC0415  (SciPy: only this function needs it (0.5 s import))
  x = np.asarray(x, np.float64)
  p = _MENDOZA
  total = 0.0
  for f, d in ((p["f1"], p["D1"]), (1 - p["f1"], p["D2"])):
    # exp(a) * erfc(z): for z >= 0 as erfcx(z) * exp(a - z^2) (exp(a) alone overflows
    # before the rise); for z < 0 erfc(z) <= 2 and exp(a) is small (the decay).
    z = (p["B"] - x) / p["C"] + p["C"] * d / 2
    a = -d * x + (p["B"] / p["C"] + d * p["C"] / 2) ** 2
    positive = z >= 0
    term = np.where(positive, special.erfcx(np.where(positive, z, 0.0)) *
                    np.exp(np.minimum(a - z**2, 700.0)),
                    special.erfc(z) * np.exp(np.minimum(np.where(positive, 0.0, a), 700.0)))
    total = total + f * term
  return 0.5 * np.sqrt(np.pi) * p["A"] * p["C"] * total / _MENDOZA_PEAK


TEMPLATES = {"davenport": davenport_template, "mendoza": mendoza_template}


def flare_model(time: np.ndarray, t_peak: float, t_half: float, amplitude: float,
                template: str = "davenport", upsample: int = 10) -> np.ndarray:
  """Relative flux of one flare at each cadence, the template averaged over the 2-min
  exposure (`upsample` sub-samples per cadence)."""
  offsets = (np.arange(upsample) + 0.5) / upsample - 0.5
  fine = np.asarray(time)[:, None] + offsets[None, :] * CADENCE_DAYS
  return amplitude * TEMPLATES[template]((fine - t_peak) / t_half).mean(axis=1)


def equivalent_duration(t_half: float, amplitude: float, template: str = "davenport") -> float:
  """Integral of the flare's relative flux, seconds."""
  x = np.linspace(-1.5, 40, 20001)
  return float(amplitude * np.trapezoid(TEMPLATES[template](x), x) * t_half * 86400.0)


def read_catalog(path: str) -> dict[int, dict]:
  """{tic: {"tpeak" (BTJD), "amplitude", "fwhm" (days)}} of a flare table: Günther-style
  (TIC, tpeak_btjd, Amp, FWHMdt) or a candidate list (TIC, t_btjd).

  Raises:
    CatalogError: No TIC or time column.
  """
  import pandas as pd  # noqa: PLC0415  (pandas: only this function needs it)
  table = pd.read_csv(path)
  time_column = next((c for c in ("tpeak_btjd", "t_btjd", "tpeak") if c in table.columns), None)
  if "TIC" not in table.columns or time_column is None:
    raise errors.CatalogError("{}: needs columns TIC and tpeak_btjd (or t_btjd); has {}".format(
        path, list(table.columns)))
  out = {}
  for tic, rows in table.groupby("TIC"):
    out[int(tic)] = {
        "tpeak": rows[time_column].to_numpy(np.float64),
        "amplitude": rows["Amp"].to_numpy(np.float64) if "Amp" in rows else np.full(
            len(rows), np.nan),
        "fwhm": rows["FWHMdt"].to_numpy(np.float64) if "FWHMdt" in rows else np.full(
            len(rows), np.nan)}
  return out


def merge_catalogs(*catalogs: dict) -> dict:
  merged: dict = {}
  for catalog in catalogs:
    for tic, flares in catalog.items():
      if tic in merged:
        merged[tic] = {k: np.concatenate([merged[tic][k], flares[k]]) for k in flares}
      else:
        merged[tic] = dict(flares)
  return merged


def catalog_counts(time: np.ndarray, starts: np.ndarray, peaks: np.ndarray,
                   window: int = WINDOW) -> np.ndarray:
  """Catalogue peaks inside [t_first - 1 min, t_last + 1 min] of each window."""
  first = time[starts] - MINUTE
  last = time[starts + window - 1] + MINUTE
  peaks = np.sort(np.asarray(peaks, np.float64))
  return np.searchsorted(peaks, last, side="right") - np.searchsorted(peaks, first, side="left")


def split_stars(tics, fractions=(0.8, 0.1, 0.1), seed: int = 42) -> dict[int, str]:
  """{tic: "train" | "val" | "test"}: stars shuffled with `seed`, cut by `fractions`
  (each split with a non-zero fraction gets at least one star when there are enough)."""
  tics = sorted(set(int(t) for t in tics))
  order = np.random.default_rng(seed).permutation(len(tics))
  n = len(tics)
  n_test = max(1, int(round(fractions[2] * n))) if n >= 3 and fractions[2] > 0 else 0
  n_val = max(1, int(round(fractions[1] * n))) if n >= 3 and fractions[1] > 0 else 0
  names = ["test"] * n_test + ["val"] * n_val + ["train"] * (n - n_test - n_val)
  return {tics[i]: names[k] for k, i in enumerate(order)}


@dataclasses.dataclass
class SyntheticConfig:
  """Injection settings: per star, `per_negative` injected windows per real flare-free window;
  t_1/2 log-uniform in [t_half_min, t_half_max] days; amplitude log-uniform in
  [amplitude_min_sigma, amplitude_max_sigma] x the star's noise sigma (so every star
  gets faint and bright flares); `multiple_fraction` of them hold a second flare."""
  per_negative: float = 0.5
  t_half_min: float = 0.0007
  t_half_max: float = 0.02
  amplitude_min_sigma: float = 1.5
  amplitude_max_sigma: float = 200.0
  multiple_fraction: float = 0.15
  template: str = "davenport"


def _inject(lc: LightCurve, starts: np.ndarray, cfg: SyntheticConfig, rng, window: int):
  """Injected copies of the windows at `starts`: (features, metadata columns)."""
  feats, meta = [], {k: [] for k in ("amplitude", "t_half", "ed", "n_flares", "start")}
  for start in starts:
    rows = slice(start, start + window)
    time = lc.time[rows]
    flux = lc.flux[start:start + window].copy()
    n_flares = 2 if rng.random() < cfg.multiple_fraction else 1
    amplitudes, halves, eds = [], [], []
    for _ in range(n_flares):
      t_half = float(np.exp(rng.uniform(np.log(cfg.t_half_min), np.log(cfg.t_half_max))))
      amplitude = lc.noise * float(np.exp(rng.uniform(np.log(cfg.amplitude_min_sigma),
                                                      np.log(cfg.amplitude_max_sigma))))
      t_peak = time[rng.integers(5, window - 15)]
      flux += flare_model(time, t_peak, t_half, amplitude, cfg.template)
      amplitudes.append(amplitude)
      halves.append(t_half)
      eds.append(equivalent_duration(t_half, amplitude, cfg.template))
    quality = lc.quality[start:start + window]
    feats.append(window_features(flux, quality, lc.noise, np.array([0]), window)[0])
    weakest = int(np.argmin(eds))
    meta["amplitude"].append(amplitudes[weakest])
    meta["t_half"].append(halves[weakest])
    meta["ed"].append(eds[weakest])
    meta["n_flares"].append(n_flares)
    meta["start"].append(start)
  return feats, meta


COLUMNS = ("x", "y", "tic", "start", "t_start", "t_end", "synthetic", "n_flares", "amplitude",
           "t_half", "ed")


def star_windows(lc: LightCurve, flares: dict | None, stride: int, synthetic: SyntheticConfig,
                 rng, window: int = WINDOW) -> dict:
  """All windows of one star: real ones (catalogue labels) + injected ones (label 1)."""
  starts = window_starts(len(lc.time), window, stride)
  peaks = flares["tpeak"] if flares else np.zeros(0)
  counts = catalog_counts(lc.time, starts, peaks, window)
  out = {k: [] for k in COLUMNS}
  out["x"] = list(window_features(lc.flux, lc.quality, lc.noise, starts, window))
  out["y"] = list((counts > 0).astype(np.int32))
  out["start"] = list(starts)
  out["synthetic"] = [0] * len(starts)
  out["n_flares"] = list(counts)
  amplitude = np.full(len(starts), np.nan)
  fwhm = np.full(len(starts), np.nan)
  for i, (s, c) in enumerate(zip(starts, counts)):
    if c:
      inside = (peaks >= lc.time[s] - MINUTE) & (peaks <= lc.time[s + window - 1] + MINUTE)
      amplitude[i] = np.nanmin(flares["amplitude"][inside]) if np.any(
          np.isfinite(flares["amplitude"][inside])) else np.nan
      fwhm[i] = np.nanmin(flares["fwhm"][inside]) if np.any(
          np.isfinite(flares["fwhm"][inside])) else np.nan
  out["amplitude"] = list(amplitude)
  out["t_half"] = list(fwhm)
  out["ed"] = [equivalent_duration(h, a) if np.isfinite(a) and np.isfinite(h) else np.nan
               for a, h in zip(amplitude, fwhm)]
  quiet = starts[counts == 0]
  n_inject = int(round(synthetic.per_negative * len(quiet)))
  if n_inject:
    chosen = rng.choice(quiet, size=n_inject, replace=n_inject > len(quiet))
    feats, meta = _inject(lc, chosen, synthetic, rng, window)
    out["x"] += feats
    out["y"] += [1] * n_inject
    out["synthetic"] += [1] * n_inject
    for k in ("amplitude", "t_half", "ed", "n_flares", "start"):
      out[k] += meta[k]
  out["start"] = np.asarray(out["start"], np.int64)
  out["tic"] = [lc.tic] * len(out["y"])
  out["t_start"] = list(lc.time[out["start"]])
  out["t_end"] = list(lc.time[out["start"] + window - 1])
  return out


def _stack(parts: list[dict]) -> dict:
  dtypes = {"x": np.float32, "y": np.int32, "tic": np.int64, "start": np.int64,
            "synthetic": np.int8, "n_flares": np.int32}
  return {k: np.asarray(np.concatenate([np.asarray(p[k]) for p in parts]) if parts else [],
                        dtype=dtypes.get(k, np.float64)) for k in COLUMNS}


def build_dataset(fits_files, catalogs=(), stride: int = WINDOW,
                  synthetic: SyntheticConfig | None = None, fractions=(0.8, 0.1, 0.1),
                  seed: int = 42, flux_column: str = "PDCSAP_FLUX",
                  window: int = WINDOW, exclude_tics=()) -> dict[str, dict]:
  """{"train" | "val" | "test": {column: array}} from light-curve files (one star each).

  x: float32 [n, window, 3]; y: int32 label; tic; start (row of the window's
  first cadence in the star's finite-row series); t_start / t_end (BTJD);
  synthetic (0/1); n_flares; amplitude (relative), t_half (days), ed (s) of
  the (weakest) flare, NaN where unknown. A file that cannot be read is logged
  and skipped. Validation and test windows get no injected flares from the
  same draws as training (each star has its own random stream, so a star's
  windows do not depend on the split). Stars in exclude_tics are left out.
  """
  from absl import logging  # noqa: PLC0415  (absl logging, as the flare scripts log)
  synthetic = synthetic or SyntheticConfig()
  catalog = merge_catalogs(*[read_catalog(c) for c in catalogs])
  curves = []
  for path in sorted(fits_files):
    try:
      lc = read_light_curve(path, flux_column)
    except errors.AstronetError as e:
      logging.warning("skipped %s: %s", path, e)
      continue
    if lc.tic not in set(int(t) for t in exclude_tics):
      curves.append(lc)
  if not curves:
    raise errors.LightCurveFileError("no readable light curve among {} files".format(
        len(fits_files)))
  split_of = split_stars([lc.tic for lc in curves], fractions, seed)
  parts = {"train": [], "val": [], "test": []}
  for lc in curves:
    rng = np.random.default_rng([seed, lc.tic])
    parts[split_of[lc.tic]].append(star_windows(lc, catalog.get(lc.tic), stride, synthetic,
                                                rng, window))
  return {name: _stack(p) for name, p in parts.items()}


def dataset_key(files, catalogs, settings: dict) -> str:
  """Hash of the inputs (their bytes) and settings that name a cached dataset."""
  h = hashlib.sha256()
  for path in sorted(files) + sorted(catalogs):
    h.update(os.path.basename(path).encode())
    h.update(hashing.file_digest(path).encode())
  h.update(json.dumps(settings, sort_keys=True, default=str).encode())
  return h.hexdigest()[:16]


def fits_files(fits_dir) -> list[str]:
  """The *.fits light curves of a folder or of a list of folders (config data.fits_dir),
  sorted by file name."""
  folders = [fits_dir] if isinstance(fits_dir, str) else list(fits_dir)
  files = sorted((p for folder in folders for p in glob.glob(os.path.join(folder, "*.fits"))),
                 key=os.path.basename)
  if not files:
    raise errors.LightCurveFileError("no .fits light curves in {}".format(
        ", ".join(folders)), folders[0] if folders else "")
  return files


def light_curves(data_config: dict) -> dict[int, LightCurve]:
  """{tic: light curve} of a config's data section: every file of data.fits_dir
  (flux_column), without the stars of exclude_tics; an unreadable file is logged and
  skipped."""
  from absl import logging  # noqa: PLC0415  (absl logging, as the flare scripts log)
  excluded = set(int(t) for t in data_config["exclude_tics"])
  curves = {}
  for path in fits_files(data_config["fits_dir"]):
    try:
      lc = read_light_curve(path, data_config["flux_column"])
    except errors.AstronetError as e:
      logging.warning("skipped %s: %s", path, e)
      continue
    if lc.tic not in excluded:
      curves[lc.tic] = lc
  return curves


def event_peaks(data_config: dict, event_catalog: str | None = None
                ) -> tuple[str | None, dict[int, np.ndarray]]:
  """(the catalogue event-level scores use, {tic: its peak times (BTJD)}): event_catalog,
  else the config's first catalogue (none: no peaks)."""
  catalogs = data_config["catalogs"]
  path = event_catalog or (catalogs[0] if catalogs else None)
  return path, ({t: f["tpeak"] for t, f in read_catalog(path).items()} if path else {})


def load_or_build(processed_dir: str, fits_dir, catalogs=(), **settings) -> dict:
  """build_dataset over the *.fits of fits_dir (a folder or a list of folders), cached as
  processed_dir/windows_<key>.npz and reused when present (the key covers the files,
  catalogues and settings)."""
  from absl import logging  # noqa: PLC0415  (absl logging, as the flare scripts log)

  files = fits_files(fits_dir)
  key = dataset_key(files, list(catalogs), dict(settings, synthetic=dataclasses.asdict(
      settings.get("synthetic") or SyntheticConfig())))
  path = os.path.join(processed_dir, "windows_{}.npz".format(key))
  if os.path.exists(path):
    logging.info("reusing processed windows %s", path)
    with np.load(path) as data:
      return {split: {k: data["{}/{}".format(split, k)] for k in COLUMNS}
              for split in ("train", "val", "test")}
  dataset = build_dataset(files, catalogs, **settings)
  os.makedirs(processed_dir, exist_ok=True)
  with atomic_io.atomic_path(path) as tmp:
    np.savez(tmp, **{"{}/{}".format(s, k): v for s, d in dataset.items() for k, v in d.items()})
  logging.info("processed windows written to %s", path)
  return dataset
