"""Light-curve readers and transforms shared by every model (Kepler and TESS)."""
