"""The version the terminal shows is the one it is installed as."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import terminal


def test_version_matches_the_project_and_the_installed_package() -> None:
    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    assert terminal.__version__ == project["project"]["version"]
    assert terminal.__version__ == version("merchant-terminal")
