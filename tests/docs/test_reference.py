"""Every public name has an API page; the pages agree with the docstrings and the generator."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import docstrings  # docs/*.py: tests/docs/__init__.py puts docs/ on sys.path
import examples
import gen_reference
import pytest
from reference_data import all_entries

from tests.docs import DOCS

# The public API, listed here on purpose rather than taken from the generator.
MODULES = [
    "mdnc.modules.resnet",
    "mdnc.modules.blindspot",
    "mdnc.contribs.torchsummary",
    "mdnc.checkpoint",
    "mdnc.data",
    "mdnc.training",
    "mdnc.inference",
    "mdnc.engines",
    "mdnc.export",
    "mdnc.registry",
]
ENTRIES, _ = all_entries()


def _public_names() -> list[tuple[str, str]]:
    names = [("mdnc", "load")]
    for module in MODULES:
        names += [(module, n) for n in importlib.import_module(module).__all__]
    return names


def _titles() -> dict[str, Path]:
    titles = {}
    for page in (DOCS / "api").rglob("*.md"):
        for line in page.read_text(encoding="utf-8").splitlines():
            if line.startswith("# "):
                titles[line[2:].strip()] = page
                break
    return titles


def test_every_public_name_has_a_page_with_an_example() -> None:
    titles = _titles()
    missing, bare = [], []
    for module, name in _public_names():
        dotted = f"{module}.{name}".removeprefix("mdnc.")
        title = dotted if "." in dotted else f"mdnc.{dotted}"
        page = titles.get(title)
        if page is None:
            missing.append(f"{module}.{name}")
        elif not examples.parse_examples(page.read_text(encoding="utf-8")):
            bare.append(f"{module}.{name}")
    assert not missing, f"public names without a page (make docs-update): {missing}"
    assert not bare, f"API pages without an example (add one in reference_data.py): {bare}"


def test_every_public_name_is_in_the_index() -> None:
    index = (DOCS / "api" / "index.md").read_text(encoding="utf-8")
    absent = [f"{m}.{n}" for m, n in _public_names() if f"[`{n}`]" not in index]
    assert not absent


def test_generated_pages_are_up_to_date(tmp_path: Path) -> None:
    problems = gen_reference.check(tmp_path)
    assert not problems, "\n".join(problems) + "\nregenerate with `make docs-update`"


def _documented(entry) -> list[str]:  # noqa: ANN001
    doc = docstrings.parse(entry.doc_from if entry.doc_from is not None else entry.obj)
    items = doc.attributes if entry.args_section == "attributes" else doc.args
    return [i.name.lstrip("*") for i in items]


@pytest.mark.parametrize(
    "entry", [e for e in ENTRIES if e.kind != "constant"], ids=lambda e: f"{e.module}.{e.name}"
)
def test_docstring_arguments_match_the_signature_and_the_page(entry) -> None:  # noqa: ANN001
    params = [p.name for p in gen_reference.signature_params(entry)]
    documented = _documented(entry)
    # A docstring documents only real parameters ...
    unknown = [n for n in documented if n not in params and n not in entry.skip]
    assert not unknown, f"docstring of {entry.name} documents no such parameter: {unknown}"
    # ... every parameter is described, by the docstring or (until it does) reference_data.py ...
    rows = gen_reference.argument_rows(entry, gen_reference.Linker(ENTRIES))
    assert [r[0].lstrip("*") for r in rows] == params
    assert all(r[2].strip() for r in rows), f"undescribed parameters of {entry.name}: {rows}"
    stale = [n for n in entry.fallback if n in documented]
    assert not stale, f"{entry.name}: drop the fallback text of {stale}, the docstring has it"
    # ... and the page's arguments table is the docstring's.
    page = (DOCS / entry.page).read_text(encoding="utf-8")
    for name, _type, text in rows:
        assert f"| `{name}` |" in page and gen_reference._cell(text) in page, (entry.page, name)


def test_signature_blocks_show_the_real_signature() -> None:
    for entry in ENTRIES:
        if entry.kind in ("constant", "exception"):
            continue
        page = (DOCS / entry.page).read_text(encoding="utf-8")
        shown = gen_reference.call_block(
            f"{entry.module}.{entry.name}", gen_reference.signature_params(entry), entry.defaults
        )
        assert shown in page, entry.page
        sig = inspect.signature(entry.signature_of or entry.obj)
        for p in gen_reference.signature_params(entry):
            assert p.name in sig.parameters
