r"""Makes a TEV-layout catalog of TCEs from lists of TIC ids (Astronet-Triage).

  python astronet/data/make_empty_catalog.py --base_dir=lists/ \
    --input sector-4-bad.txt sector-4-good.txt --save_dir=catalogs/

Each input `sector-{S}-{anything}.txt` holds one TIC id per line. Output:
`sector-{S}-all.csv` in --save_dir with the TEV columns, src "qlp", toi_id
".01", Disposition "J" (junk) and Sectors S; the other columns are empty and
are filled by make_catalog.py. Unlike the original, which named one file
after the last input's sector, inputs of different sectors give one file per
sector.
"""

from __future__ import annotations

import os

from absl import app
from absl import flags
from absl import logging

from tf_util import cli

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defines the command-line flags (only when run as a script, so that
  importing this module next to other scripts defines no duplicate flags)."""
  flags.DEFINE_string("base_dir", ".", "Directory where the TIC id lists are located.")
  flags.DEFINE_list("input", None, "TIC id list(s) named sector-{S}-{name}.txt "
                    "(comma- or space-separated).")
  flags.DEFINE_string("save_dir", ".", "Directory where the CSV file(s) are written.")


def main(argv):
  # `--input a.csv b.csv` (the originals' argparse nargs='+') leaves b.csv as a
  # positional argument; accept it as well as `--input=a.csv,b.csv`.
  inputs = list(FLAGS.input or []) + list(argv[1:])
  if not inputs:
    raise app.UsageError("--input is required")
  from astronet.data import tev_catalog  # pylint: disable=import-outside-toplevel
  catalogs = tev_catalog.make_empty_catalog([os.path.join(FLAGS.base_dir, f) for f in inputs])
  os.makedirs(FLAGS.save_dir, exist_ok=True)
  for sector, table in sorted(catalogs.items()):
    path = os.path.join(FLAGS.save_dir, "sector-{}-all.csv".format(sector))
    tev_catalog.write_csv_atomically(table, path, index=False)
    logging.info("Wrote %d TCEs to %s", len(table), path)
  return 0


if __name__ == "__main__":
  cli.run(main, define_flags)
