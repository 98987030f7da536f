"""The project root: one function for the read commands' default --db and for what Ray ships."""

from __future__ import annotations

from pathlib import Path

from testfleet.cli import storeopts
from testfleet.paths import ROOT_MARKERS, SHIP_MARKERS, find_rootdir


def test_the_nearest_directory_with_a_config_file_is_the_root(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_rootdir(deep) == tmp_path
    assert find_rootdir(deep, SHIP_MARKERS) == tmp_path
    (tmp_path / "a" / "tox.ini").write_text("")
    assert find_rootdir(deep) == tmp_path / "a"
    assert storeopts.find_rootdir is find_rootdir  # the read commands use the same function


def test_a_git_checkout_marks_what_ray_ships_but_not_the_store_root(tmp_path: Path) -> None:
    deep = tmp_path / "src" / "pkg"
    deep.mkdir(parents=True)
    (tmp_path / ".git").mkdir()  # a checkout; in a worktree .git is a file
    assert find_rootdir(deep, SHIP_MARKERS) == tmp_path
    assert ".git" not in ROOT_MARKERS


def test_a_directory_named_like_a_config_file_is_no_marker(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").mkdir()
    deep = tmp_path / "d"
    deep.mkdir()
    (deep / ".git").write_text("gitdir: /elsewhere\n")  # a worktree's .git file
    assert find_rootdir(deep, SHIP_MARKERS) == deep
    assert find_rootdir(tmp_path / "d") != tmp_path  # its pytest.ini is a directory
