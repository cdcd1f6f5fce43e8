"""Import path of the original package (`from ASTROMER.models import SingleBandEncoder`)."""
