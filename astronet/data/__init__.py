"""Record generation and preprocessing for Astronet (Kepler and TESS)."""
