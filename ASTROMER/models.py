"""`from ASTROMER.models import SingleBandEncoder` keeps working for existing user code."""

from astromer.models import SingleBandEncoder  # noqa: F401  pylint: disable=unused-import
