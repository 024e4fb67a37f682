"""The period statement as a file to download, the same from the API and from the pages:
what `ledger statement --format` writes."""

import json
import tempfile
from pathlib import Path

from ledger.reports.render import FORMATS, write
from ledger.reports.render.document import statement_document
from ledger.reports.statement import Statement

DOWNLOADS = (*FORMATS, "json")
MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}


def statement_file(found: Statement, format: str) -> bytes:
    """The statement's file in a format of DOWNLOADS."""
    if format == "json":
        return (json.dumps(found.as_dict(), ensure_ascii=False, indent=2) + "\n").encode()
    with tempfile.TemporaryDirectory(prefix="ledger-statement-") as scratch:
        path = Path(scratch) / f"statement.{format}"
        write(statement_document(found), format, path)
        return path.read_bytes()
