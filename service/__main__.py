"""``python -m service`` (and the ``loss-service`` script): run uvicorn with the Settings."""

from __future__ import annotations

import sys

from .config import Settings
from .server import run


def main() -> None:
    status = run(Settings())
    if status:
        sys.exit(status)


if __name__ == "__main__":
    main()
