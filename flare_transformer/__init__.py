"""Transformer classifier of stellar flares in TESS light curves (port in progress)."""
