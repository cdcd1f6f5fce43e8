"""AstroWaveNet: generative model of light curves (port in progress)."""
