"""The command-line tests share the client tests' real server process."""

from ..client.conftest import server  # noqa: F401  (the fixture)
