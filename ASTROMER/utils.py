"""astromer 0.1.8's `ASTROMER.utils`: download_weights (bounded, checked, safe unzip)."""

from astromer.utils import download_weights  # noqa: F401  pylint: disable=unused-import
