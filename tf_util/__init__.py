"""Shared machinery used by astronet, astrowavenet and astromer.

Importing this package does not import TensorFlow; modules that need it import it
themselves.
"""
