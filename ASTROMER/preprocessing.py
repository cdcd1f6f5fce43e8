"""astromer 0.1.8's `ASTROMER.preprocessing`: make_pretraining, load_numpy, pretraining_records.

`pretraining_records` keeps the original's signature (a record folder in, a
batched tf.data.Dataset out); the others are astromer.preprocessing's.
"""

from __future__ import annotations

from astromer.preprocessing import load_numpy  # noqa: F401  pylint: disable=unused-import
from astromer.preprocessing import make_pretraining


def pretraining_records(source: str, batch_size: int, max_obs: int = 100,
                        msk_frac: float = 0.2, rnd_frac: float = 0.1, same_frac: float = 0.1,
                        sampling: bool = False, shuffle: bool = False, n_classes: int = -1,
                        repeat: int = 1):
  """Batches of the record folder `source` in the ASTROMER input format (the original's)."""
  return make_pretraining(source, batch_size=batch_size, shuffle=shuffle, sampling=sampling,
                          max_obs=max_obs, msk_frac=msk_frac, rnd_frac=rnd_frac,
                          same_frac=same_frac, repeat=repeat, n_classes=n_classes)
