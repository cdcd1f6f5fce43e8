r"""End-to-end demo on the bundled real Kepler-90 light curves.

Reads the Kepler FITS files of one star, fits the Kepler spline, detrends,
folds on the TCE and writes the global and local views (npz + PNG figures).

  python -m astronet.demo --kepler_data_dir=tests/data/kepler/fits \
      --output_dir=demo_output
"""

from __future__ import annotations

import os
import time as time_lib

import numpy as np
from absl import app
from absl import flags
from absl import logging

from astronet import plotting
from astronet.data import preprocess
from tf_util import atomic_io
from tf_util import errors

FLAGS = flags.FLAGS
flags.DEFINE_string("kepler_data_dir", "tests/data/kepler/fits",
                    "Base folder of Kepler FITS files (MAST layout).")
flags.DEFINE_string("output_dir", "demo_output", "Where to write the outputs.")
flags.DEFINE_integer("kepler_id", 11442793, "Kepler id of the star (Kepler-90).")
flags.DEFINE_float("period", 14.44912, "TCE period (days); default Kepler-90 i.")
flags.DEFINE_float("t0", 2.2, "TCE epoch (BKJD days).")
flags.DEFINE_float("duration", 0.11267, "TCE duration (days).")


def run(kepler_data_dir: str, output_dir: str, kepler_id: int, period: float,
        t0: float, duration: float) -> dict[str, np.ndarray]:
  """Runs read -> detrend -> fold -> views and writes the outputs."""
  os.makedirs(output_dir, exist_ok=True)
  start = time_lib.time()
  logging.info("Reading Kepler light curve of KIC %d from %s", kepler_id,
               kepler_data_dir)
  all_time, all_flux = preprocess.read_light_curve(kepler_id, kepler_data_dir)
  logging.info("Read %d files, %d points", len(all_time),
               sum(len(t) for t in all_time))

  logging.info("Fitting the Kepler spline (20 break-point spacings)...")
  time, flux = preprocess.process_light_curve(all_time, all_flux)
  logging.info("Detrended: %d points", len(time))

  tce_views = preprocess.generate_views(time, flux, period, t0, duration,
                                        name="KIC {}".format(kepler_id))
  elapsed = time_lib.time() - start

  name = "kic{}_p{:g}".format(kepler_id, period)
  npz_path = os.path.join(output_dir, name + "_views.npz")
  with atomic_io.atomic_path(npz_path) as tmp:
    np.savez(tmp, **tce_views)
  title = "KIC {}: period {:g} d, t0 {:g}, duration {:g} d".format(
      kepler_id, period, t0, duration)
  plotting.plot_views(tce_views["global_view"], tce_views["local_view"], title,
                      os.path.join(output_dir, name + "_views.png"))
  plotting.plot_detrending(
      np.concatenate(all_time), np.concatenate(all_flux), time, flux,
      "KIC {}: raw and spline-detrended light curve".format(kepler_id),
      os.path.join(output_dir, "kic{}_detrended.png".format(kepler_id)))

  for view_name, view in tce_views.items():
    centre = len(view) // 2
    print("{:12s} {:5d} bins  min {:+.3f} at bin {:4d}  centre {:+.3f}".format(
        view_name, len(view), view.min(), int(np.argmin(view)), view[centre]))
  print("Views and figures written to {} ({:.1f} s)".format(output_dir, elapsed))
  return tce_views


def main(argv):
  del argv
  try:
    run(FLAGS.kepler_data_dir, FLAGS.output_dir, FLAGS.kepler_id, FLAGS.period,
        FLAGS.t0, FLAGS.duration)
  except errors.AstronetError as e:
    raise SystemExit("error: {}".format(e)) from None


if __name__ == "__main__":
  logging.set_verbosity(logging.INFO)
  app.run(main)
