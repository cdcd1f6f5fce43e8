r"""The thesis' entry point: trains the flare transformer from a YAML config.

  python flare_transformer/main.py --config flare_transformer/config.yaml
  (the same as python -m flare_transformer.train --config ...)
"""

import runpy

if __name__ == "__main__":
  runpy.run_module("flare_transformer.train", run_name="__main__", alter_sys=True)
