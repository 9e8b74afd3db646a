"""DESIGN.md's package table, the README's architecture table and the import contracts that
`lint-imports` enforces (pyproject.toml) say the same thing: a change to one that is not made
to the others fails here."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def design_table() -> dict[str, set[str]]:
    """package -> what DESIGN.md says it may not import."""
    text = (ROOT / "DESIGN.md").read_text()
    table = text.split("<!-- packages:", 1)[1].split("<!-- /packages -->", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    out = {}
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        name = cells[0].strip("`")
        out[name] = {m.strip() for m in cells[-1].split(",") if m.strip()}
    return out


def contracts() -> tuple[list[str], dict[str, set[str]]]:
    """The root packages, and package -> the packages a contract forbids it to import."""
    linter = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    forbidden: dict[str, set[str]] = {p: set() for p in linter["root_packages"]}
    for contract in linter["contracts"]:
        if contract["type"] == "forbidden":
            for source in contract["source_modules"]:
                forbidden[source] |= set(contract["forbidden_modules"])
        elif contract["type"] == "independence":
            for module in contract["modules"]:
                forbidden[module] |= set(contract["modules"]) - {module}
        else:
            raise AssertionError(f"a contract type this test does not read: {contract['type']}")
    return linter["root_packages"], forbidden


def readme_packages() -> set[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(\w+)/` \|", section, re.MULTILINE))


def test_design_and_contracts_name_the_same_packages_and_imports():
    roots, forbidden = contracts()
    table = design_table()
    assert set(table) == set(roots), "DESIGN.md's package table and root_packages differ"
    for package, banned in forbidden.items():
        assert table[package] == banned, (
            f"{package}: DESIGN.md says it may not import {sorted(table[package])}, the "
            f"contracts forbid {sorted(banned)}")


def test_the_readme_architecture_lists_every_package_and_links_the_design():
    roots, _ = contracts()
    assert readme_packages() == set(roots)
    assert "DESIGN.md" in (ROOT / "README.md").read_text().split("## Set up and run", 1)[0]


def test_every_package_on_disk_is_in_the_table():
    on_disk = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert on_disk == set(design_table())
