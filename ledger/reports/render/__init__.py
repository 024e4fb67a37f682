"""Statements, slips and disclosures as documents people read, print and file: HTML, PDF
and XLSX, from one layout (`ledger.reports.render.document`)."""

from pathlib import Path

from ledger.reports.render.document import Document

FORMATS = ("html", "pdf", "xlsx")


def write(document: Document, format: str, path: Path) -> None:
    """Write the document in a format of FORMATS; the PDF and XLSX libraries are loaded only
    when asked for, so the rest of the command line starts without them."""
    if format == "html":
        from ledger.reports.render import html

        html.write(document, path)
    elif format == "pdf":
        from ledger.reports.render import pdf

        pdf.write(document, path)
    elif format == "xlsx":
        from ledger.reports.render import xlsx

        xlsx.write(document, path)
    else:
        raise ValueError(f"no renderer for {format!r}")
