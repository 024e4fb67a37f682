"""Documents as files to download, the same from the API and from the pages: what
`ledger statement --format` and `ledger claim explain --format` write."""

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ledger.reports.render import FORMATS, write
from ledger.reports.render.document import Document, statement_document
from ledger.reports.statement import Statement

DOWNLOADS = (*FORMATS, "json")
MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}


def attachment(name: str) -> str:
    """A Content-Disposition for a file of any name (a claim id may be Chinese)."""
    return f"attachment; filename*=UTF-8''{quote(name)}"


def document_file(data: dict[str, Any], document: Callable[[], Document], format: str) -> bytes:
    """A document's file in a format of DOWNLOADS: its figures as JSON, or drawn."""
    if format == "json":
        return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode()
    with tempfile.TemporaryDirectory(prefix="ledger-document-") as scratch:
        path = Path(scratch) / f"document.{format}"
        write(document(), format, path)
        return path.read_bytes()


def statement_file(found: Statement, format: str) -> bytes:
    return document_file(found.as_dict(), lambda: statement_document(found), format)
