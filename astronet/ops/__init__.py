"""Input pipelines and training helpers for Astronet."""
