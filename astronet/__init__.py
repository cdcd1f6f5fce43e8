"""Astronet (Shallue & Vanderburg 2018) and Astronet-Triage (Yu et al. 2019) in TF2 / Keras 3."""
