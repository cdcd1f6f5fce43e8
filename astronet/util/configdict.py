"""Astronet-Triage's import path of ConfigDict: `tf_util.configdict`."""

from tf_util.configdict import ConfigDict  # noqa: F401  pylint: disable=unused-import
