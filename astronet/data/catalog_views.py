"""Views of every TCE of a catalog, in memory: prediction straight from light curves.

`batch_predict.py --input_tce_csv_file=tces.csv --tess_data_dir=DIR` uses this
instead of TFRecords: the catalog (tce_table.read_prediction_catalog) is grouped
by light curve, each group read, processed and binned once by the record
pipeline's own worker (tce_views.process_star_group) in parallel processes, and
the views gathered as prediction.Records. A TCE that fails is a Failure (written
to failed_tces.csv by the script); the others go on.
"""

from __future__ import annotations

import logging
import multiprocessing
import sys

import numpy as np
import tqdm

from astronet.data import records
from astronet.data import tce_views
from astronet.ops import prediction

logger = logging.getLogger(__name__)


def views_from_catalog(table, config: tce_views.RecordConfig, catalog_file: str,
                       num_worker_processes: int = 1, start_method: str | None = None,
                       progress: bool = True
                       ) -> tuple[prediction.Records, list[tce_views.Failure]]:
  """(Records of the TCEs whose views could be made, in catalog order; failures).

  Args:
    table: tce_table.read_prediction_catalog's table.
    config: How light curves are read (mission, data folder, TESS format).
    catalog_file: The catalog's path (named in Records.filenames).
    num_worker_processes: Parallel workers (1: this process).
    progress: A progress bar on stderr (per light curve).
  """
  mission = config.mission_config
  rows = records.tce_rows(table)
  groups = records.star_groups(rows, config)
  items = [("", [rows[i] for i in group], config) for group in groups]
  processes = min(num_worker_processes, max(len(items), 1))
  bar = tqdm.tqdm(total=len(rows), unit="TCE", disable=not progress, file=sys.stderr,
                  desc="light curves -> views")
  results: list = [None] * len(rows)

  def collect(outputs):
    for group, output in zip(groups, outputs):
      for index, result in zip(group, output):
        results[index] = result
      bar.update(len(group))

  if processes <= 1:
    collect(map(tce_views.process_star_group, items))
  else:
    context = multiprocessing.get_context(start_method)
    chunksize = max(1, min(16, len(items) // (4 * processes)))
    with context.Pool(processes=processes) as pool:
      collect(pool.imap(tce_views.process_star_group, items, chunksize))
  bar.close()
  kept = [i for i, (views, _) in enumerate(results) if views is not None]
  failures = [failure for _, failure in results if failure is not None]
  names = sorted(results[kept[0]][0]) if kept else ["global_view", "local_view"]
  lengths = dict(zip(("global_view", "local_view"), mission.view_lengths))
  views = {name: (np.stack([results[i][0][name] for i in kept]).astype(np.float32) if kept
                  else np.zeros([0, lengths.get(name, 0)], np.float32)) for name in names}
  id_column, sub_column, label_column = mission.record_keys
  return prediction.Records(
      filenames=[catalog_file], file_index=np.zeros(len(kept), int),
      record_index=np.asarray(kept, int),
      ids=np.asarray([rows[i][id_column] for i in kept], np.int64),
      sub_ids=np.asarray([rows[i].get(sub_column, 0) for i in kept], np.int64),
      labels=np.asarray([str(rows[i].get(label_column, "")) for i in kept], dtype=object),
      views=views, keys=mission.record_keys), failures
