"""The layers hold: each import-linter contract in pyproject.toml ([tool.importlinter]) is a
test here, so the README's test command checks them, and the domain tests use the domain
alone. The layers and their arrows are drawn in docs/architecture.md."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from importlinter import api

ROOT = Path(__file__).parents[1]
CONTRACTS = [
    c["id"] for c in api.read_configuration(str(ROOT / "pyproject.toml"))["contracts_options"]
]
ABOVE_THE_DOMAIN = ("ledger", "projections")


@pytest.mark.parametrize("contract", CONTRACTS)
def test_the_contract_is_kept(contract: str) -> None:
    """In a process of its own, from the project's root: in this one, the test folders that
    pytest puts on the path (tests/ledger, tests/domain) shadow the packages of those names."""
    lint_imports = Path(sys.executable).parent / "lint-imports"
    run = subprocess.run(
        [lint_imports, "--contract", contract, "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def imported_modules(path: Path) -> list[str]:
    """The absolute imports a file makes (relative ones stay in its own folder)."""
    modules = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.append(node.module)
    return modules


@pytest.mark.parametrize(
    "path", sorted((ROOT / "tests" / "domain").glob("*.py")), ids=lambda p: p.name
)
def test_a_domain_test_imports_nothing_of_ours_but_the_domain(path: Path) -> None:
    above = [m for m in imported_modules(path) if m.split(".")[0] in ABOVE_THE_DOMAIN]
    assert above == []
