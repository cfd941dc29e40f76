"""The docs stay true to the code: every event and setting documented, and the layout the
architecture page and the README show is the tree as it is."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

from eventsourcing.domain import Aggregate

import patronage.domain

ROOT = Path(__file__).parents[2]
SRC = ROOT / "src" / "patronage"
EVENTS_DOC = ROOT / "docs" / "events.md"


def domain_event_names() -> set[str]:
    names: set[str] = set()
    for module_info in pkgutil.iter_modules(patronage.domain.__path__):
        module = importlib.import_module(f"patronage.domain.{module_info.name}")
        for aggregate in vars(module).values():
            if not (inspect.isclass(aggregate) and issubclass(aggregate, Aggregate)):
                continue
            if aggregate is Aggregate or aggregate.__module__ != module.__name__:
                continue
            for name, member in vars(aggregate).items():
                # Event and Created are the library's own base classes on every aggregate.
                library_base = hasattr(Aggregate, name)
                if (
                    inspect.isclass(member)
                    and issubclass(member, Aggregate.Event)
                    and not library_base
                ):
                    names.add(f"{aggregate.__name__}.{name}")
    return names


def test_every_event_is_documented() -> None:
    names = domain_event_names()
    assert "Gift.Received" in names, "the scan finds the domain's events"
    documented = EVENTS_DOC.read_text()
    missing = sorted(n for n in names if f"`{n}`" not in documented)
    assert missing == []


SETTINGS_DOC = ROOT / "docs" / "settings.md"


def test_every_setting_is_documented() -> None:
    from patronage.config import Settings

    documented = SETTINGS_DOC.read_text()
    missing = [
        f"PATRONAGE_{name.upper()}"
        for name in Settings.model_fields
        if f"`PATRONAGE_{name.upper()}`" not in documented
    ]
    assert missing == []


# The layout -----------------------------------------------------------------------------

PATH_LIKE = re.compile(r"`([\w/]+(?:/|\.py))`")


def packages() -> set[str]:
    """Every package (folder) under src/patronage, as `name/` or `name/sub/`; asset folders
    inside a package (web's static files and templates) are part of it."""
    found = {f"{d.name}/" for d in SRC.iterdir() if d.is_dir() and d.name != "__pycache__"}
    for init in SRC.glob("*/*/__init__.py"):
        found.add(f"{init.parent.relative_to(SRC).as_posix()}/")
    return found


def top_level_modules() -> set[str]:
    return {f.name for f in SRC.glob("*.py") if not f.name.startswith("__")}


def architecture_rows() -> list[tuple[str, str]]:
    """(package cell, what-it-holds cell) of each row of the layers table."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    table = text.split("## Layers", 1)[1].split("\n\n", 2)[1]
    rows = []
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows.append((cells[1], cells[2]))
    return rows


def exists(named: str, within: Path = SRC) -> bool:
    path = within / named
    return path.is_dir() if named.endswith("/") else path.is_file()


def test_the_architecture_layers_table_names_the_tree() -> None:
    rows = architecture_rows()
    assert len(rows) >= 10, "the table was found"
    named: set[str] = set()
    missing: list[str] = []
    for package_cell, holds_cell in rows:
        owners = PATH_LIKE.findall(package_cell)
        named.update(owners)
        missing += [p for p in owners if not exists(p)]
        for module in PATH_LIKE.findall(holds_cell):
            # A module named in a row lives in that row's package (or is a path from the root).
            places = [SRC / o for o in owners if o.endswith("/")] + [SRC]
            if not any(exists(module, place) for place in places):
                missing.append(f"{module} (row {package_cell})")
    assert missing == [], "named in docs/architecture.md but not in the tree"
    # Every package and top-level module has a row of its own, not a mention in another's.
    unnamed = sorted((packages() | top_level_modules()) - named)
    assert unnamed == [], "in src/patronage but without a row in docs/architecture.md's table"


def test_each_package_row_names_every_module_of_its_package() -> None:
    """A package's row names each of its modules as `name.py`, so a module added (or renamed)
    fails here until its row says what it holds."""
    unnamed: list[str] = []
    package_rows = 0
    for package_cell, holds_cell in architecture_rows():
        packages_of_row = [o for o in PATH_LIKE.findall(package_cell) if o.endswith("/")]
        # One package a row: a module's name then says which file it is.
        assert len(packages_of_row) <= 1, package_cell
        if not packages_of_row or not exists(packages_of_row[0]):
            continue
        package_rows += 1
        named = set(PATH_LIKE.findall(holds_cell))
        package = SRC / packages_of_row[0]
        modules = sorted(f.name for f in package.glob("*.py") if f.name != "__init__.py")
        unnamed += [f"{packages_of_row[0]}{m}" for m in modules if m not in named]
    assert package_rows >= 10, "the package rows were found"
    assert unnamed == [], "not named in their package's row of docs/architecture.md"


def readme_layout() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("## Layout", 1)[1].split("```", 2)[1]
    return [line for line in block.splitlines() if line.strip()]


def test_the_readme_layout_names_the_tree() -> None:
    lines = readme_layout()
    named: set[str] = set()
    missing: list[str] = []
    for line in lines:
        first = line.split()[0]
        if " | " in line:  # tests/unit | integration | e2e
            head, *rest = (part.split()[0] for part in line.split("|"))
            parent = head.rsplit("/", 1)[0]
            paths = [head, *(f"{parent}/{name}" for name in rest)]
        else:
            paths = [first]
        for path in paths:
            if not (ROOT / path).exists():
                missing.append(path)
            if path.startswith("src/patronage/"):
                named.add(path.removeprefix("src/patronage/"))
        for module in re.findall(r"\b([\w/]+\.py)\b", line.split(maxsplit=1)[-1]):
            if not (SRC / module).exists():
                missing.append(module)
            named.add(module)
    assert missing == [], "named in README.md's layout but not in the tree"
    unnamed = sorted((packages() | top_level_modules()) - named)
    assert unnamed == [], "in src/patronage but not in README.md's layout"
    tests = sorted(
        f"tests/{d.name}" for d in (ROOT / "tests").iterdir() if (d / "__init__.py").exists()
    )
    assert [t for t in tests if not any(t.split("/")[1] in line for line in lines)] == []


def test_every_file_the_docs_name_exists() -> None:
    """Test files and source modules named by path: `tests/...py`, `src/patronage/...py`, or a
    module path from a package of src/patronage (`application/ledger.py`)."""
    package_names = "|".join(sorted(p.rstrip("/") for p in packages() if p.count("/") == 1))
    from_a_package = re.compile(rf"(?<![\w/.-])(?:{package_names})/[\w/]+\.py")
    named: set[str] = set()
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text()
        named |= set(re.findall(r"(?:tests|src/patronage)/[\w/]+\.py", text))
        named |= {f"src/patronage/{path}" for path in from_a_package.findall(text)}
    for example in ("tests/unit/test_docs.py", "src/patronage/application/ledger.py"):
        assert example in named, "the scan finds the docs' paths"
    assert sorted(path for path in named if not (ROOT / path).is_file()) == []
