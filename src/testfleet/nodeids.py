"""What a pytest node id tells without the node (pure functions; no pytest import)."""

from __future__ import annotations


def derived(nodeid: str) -> tuple[str, str, str]:
    """What a node id tells of its item: (module, parent node id, unparametrized name).
    The module is always this; the collector sends the other two only for items where they
    differ (see :func:`testfleet.worker.items.describe_all`)."""
    head = nodeid.split("[", 1)[0]
    parent, _, name = head.rpartition("::")
    return nodeid.split("::", 1)[0], parent, name


def package_path(path: str) -> str | None:
    """The path of a test file as its package lays it out: ``.../src/flow/tests/test_x.py`` ->
    ``flow/tests/test_x.py`` (up to the first directory without ``__init__.py``); None when the
    file is not in a package. Under ``--pyargs`` pytest's node ids are relative to a rootdir that
    depends on where the run was started; this one does not, so history carries over."""
    import os

    directory = os.path.dirname(os.path.abspath(path))
    top = directory
    while os.path.isfile(os.path.join(top, "__init__.py")):
        parent = os.path.dirname(top)
        if parent == top:
            break
        top = parent
    if top == directory:
        return None
    return os.path.relpath(os.path.abspath(path), top).replace(os.sep, "/")
