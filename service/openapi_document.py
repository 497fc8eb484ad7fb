"""The committed OpenAPI document, ``openapi/v1.json``: rendered from the app, written, checked.

``service.api.openapi`` builds the document from an app's routes; this module makes the app and
renders its document as the bytes that are committed (sorted keys, two-space indent, final newline).

    python -m service.openapi_document            # rewrite openapi/v1.json
    python -m service.openapi_document --check    # exit 1 if the committed file differs
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

from .app import create_app
from .config import Settings

DOCUMENT = Path(__file__).resolve().parents[1] / "openapi" / "v1.json"


def render(document: dict[str, Any]) -> bytes:
    """A document as committed: sorted keys, two-space indent, a final newline."""
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def render_document() -> bytes:
    """The document the app serves at ``/v1/openapi.json``, rendered as committed."""
    return render(create_app(Settings()).openapi())


def write_document(path: Path = DOCUMENT) -> bool:
    """Write the document to ``path``; whether its content changed."""
    text = render_document()
    if path.exists() and path.read_bytes() == text:
        return False
    path.write_bytes(text)
    return True


def check_document(path: Path = DOCUMENT) -> bool:
    """Whether ``path`` holds exactly the document the app serves."""
    return path.exists() and path.read_bytes() == render_document()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m service.openapi_document", description="Write or check openapi/v1.json."
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed file differs")
    parser.add_argument("--path", type=Path, default=DOCUMENT, help="the document's file")
    options = parser.parse_args(argv)
    if options.check:
        if not check_document(options.path):
            print(f"{options.path} is out of date: run python -m service.openapi_document", file=sys.stderr)
            return 1
        return 0
    changed = write_document(options.path)
    print(f"{'wrote' if changed else 'unchanged:'} {options.path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
