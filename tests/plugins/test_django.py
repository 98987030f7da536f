"""pytest-django with a named test database: each worker its own, as under xdist (issue 18, 3)."""

from __future__ import annotations

import re

from _suite import Suite, need

SETTINGS = """
SECRET_KEY = "not-secret"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3",
                         "TEST": {"NAME": "test_db.sqlite3"}}}
USE_TZ = True
"""

TEST = """
import os
import pytest
from django.contrib.auth.models import User
from django.db import connection

@pytest.mark.django_db
@pytest.mark.parametrize("n", range(8))
def test_user(n):
    User.objects.create(username=f"u{n}")
    assert User.objects.count() == 1
    with open(os.path.join(os.environ["NAMES_DIR"], f"{n}.txt"), "w") as fh:
        fh.write(os.path.basename(connection.settings_dict["NAME"]))
"""


def test_named_test_database_gets_a_worker_suffix(suite: Suite) -> None:
    need("pytest_django")
    suite.write("settings.py", SETTINGS)
    suite.write("pytest.ini", "[pytest]\nDJANGO_SETTINGS_MODULE = settings\npythonpath = .\n")
    suite.write("test_dj.py", TEST)
    names = {}
    for run in ("plain", "fleet"):
        out = suite.root / run
        out.mkdir()
        env = {"NAMES_DIR": str(out)}
        args = ("-p", "pytest_django.plugin")
        result = suite.plain(*args, env=env) if run == "plain" else suite.fleet(*args, env=env)
        assert result.code == 0 and result.summary == "8 passed", result.out
        names[run] = {p.read_text() for p in out.glob("*.txt")}
    assert names["plain"] == {"test_db.sqlite3"}
    # As xdist: the name with the worker's id (gw0, gw1), one database per worker.
    assert names["fleet"] and all(re.fullmatch(r"test_db\.sqlite3_gw[01]", n) for n in names["fleet"]), names
    assert not list(suite.root.glob("test_db.sqlite3*")), "test databases are destroyed at the end"
