"""A real ``python -m service`` process shared by the client and command-line tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..ops.server import Server, running_server

API_KEY = "client-test-key"
# Low enough that a few tens of thousands of samples need several requests.
MAX_ELEMENTS = 20_000


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    with running_server(api_keys=API_KEY, max_elements=str(MAX_ELEMENTS)) as server:
        yield server
