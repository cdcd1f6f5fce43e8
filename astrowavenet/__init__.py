"""AstroWaveNet: the generative model of Kepler light curves (Keras 3 port; trainer.py, predict.py)."""
