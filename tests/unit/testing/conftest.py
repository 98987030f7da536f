from __future__ import annotations

from collections.abc import Iterator

import pytest
from toolkit_helpers import EchoServer


@pytest.fixture
def echo_server() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()
