"""ASTROMER: transformer embeddings of single-band light curves (port in progress)."""
