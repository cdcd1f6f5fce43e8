"""ASTROMER: transformer embeddings of single-band light curves.

`astromer.models.SingleBandEncoder` (from_pretraining, encode, fit),
pretraining records and windows (`preprocessing`, `records`), pretrained
weights (`utils`, `weights`) and downstream classification (`classifiers`,
`downstream`, `python -m astromer.classify`). Importing this package does not
import TensorFlow.
"""

# Downstream scenarios and classifier heads (the command line offers these).
SCENARIOS = ("a", "b", "c", "lstm", "rf")
HEADS = ("lstm", "mlp")
