r"""The thesis' entry point: trains the flare transformer from a YAML config.

  python flare_transformer/main.py --config flare_transformer/config.yaml
  (the same as python -m flare_transformer.train --config ...)
"""

from absl import app

from flare_transformer import train

if __name__ == "__main__":
  train.define_flags()
  app.run(train.main)
