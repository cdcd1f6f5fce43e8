"""Light curve to views for one Kepler TCE (step 1 of the demo, astronet/demo.py).

Reads the Kepler FITS files of one star, fits the Kepler spline, detrends,
folds on the TCE and writes the global and local views (npz + PNG figures).
"""

from __future__ import annotations

import os
import time as time_lib

import numpy as np
from absl import logging

from astronet import missions
from astronet import plotting
from astronet.data import preprocess
from tf_util import atomic_io


def kepler90_views(kepler_data_dir: str, output_dir: str, kepler_id: int, period: float,
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
                      os.path.join(output_dir, name + "_views.png"),
                      plotting.view_axes(missions.KEPLER, period, duration))
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
