"""Astronet-Triage's import path of the Example helpers: `tf_util.example_util`."""

from tf_util.example_util import *  # noqa: F401,F403  pylint: disable=wildcard-import,unused-wildcard-import
