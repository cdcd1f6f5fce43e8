"""The top-level BUILD file covers every Python module of the project."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("astronet", "astrowavenet", "astromer", "ASTROMER", "flare_transformer",
            "light_curve_util", "third_party", "tf_util", "tests", "bench")


def _build_sources():
  text = (ROOT / "BUILD").read_text()
  return set(re.findall(r'"([\w/]+\.py)"', text))


def test_every_module_has_a_bazel_target():
  modules = {
      str(p.relative_to(ROOT)) for package in PACKAGES
      for p in (ROOT / package).rglob("*.py")
      if not str(p.relative_to(ROOT)).startswith("tests/data/")
  }
  assert "light_curve_util/views.py" in modules
  missing = sorted(modules - _build_sources())
  assert not missing, "Add these modules to a BUILD target: {}".format(missing)


def test_build_lists_only_existing_files():
  stale = sorted(s for s in _build_sources() if not (ROOT / s).is_file())
  assert not stale, "BUILD names files that do not exist: {}".format(stale)


def test_build_has_the_target_kinds():
  text = (ROOT / "BUILD").read_text()
  for kind in ("py_library(", "py_binary(", "py_test("):
    assert kind in text
