"""Every example on every page runs, and prints what the page shows (``docs/examples.py``)."""

from __future__ import annotations

from pathlib import Path

import examples  # docs/examples.py: tests/docs/__init__.py puts docs/ on sys.path
import pytest

from tests.conftest import FIXTURES
from tests.docs import DOCS

# The slowest pages first (the guide runs the command line), so that under pytest-xdist
# they start at once instead of closing the run on one worker.
PAGES = sorted(
    examples.pages(DOCS),
    key=lambda p: (not p.relative_to(DOCS).as_posix().startswith("guide/"), "onnx" not in p.name),
)


def test_pages_with_examples_are_found() -> None:
    names = {p.relative_to(DOCS).as_posix() for p in PAGES}
    assert {"index.md", "guide/cli.md", "guide/long-recordings.md"} <= names
    assert "api/modules/resnet/AE1d.md" in names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_shown_output_is_what_the_example_prints(page: Path) -> None:
    problems = examples.differences(page)
    assert not problems, "\n\n".join(problems) + "\n\nregenerate with `make docs-update`"


def test_no_example_is_left_unrun() -> None:
    pending = [
        f"{p.relative_to(DOCS)}:{e.line}"
        for p in PAGES
        for e in examples.parse_examples(p.read_text(encoding="utf-8"))
        if examples.PENDING in e.output
    ]
    assert not pending, f"examples without output (make docs-update): {pending}"


def test_ae1d_page_carries_the_seed_example_unchanged() -> None:
    page = (DOCS / "api/modules/resnet/AE1d.md").read_text(encoding="utf-8")
    first = examples.parse_examples(page)[0]
    seed_code = (FIXTURES / "ae1d_seed_example.py").read_text(encoding="utf-8")
    assert first.code == seed_code.rstrip("\n")
    expected = (FIXTURES / "ae1d_seed_example_output.txt").read_text(encoding="utf-8")
    assert [ln.rstrip() for ln in first.output.split("\n")] == [
        ln.rstrip() for ln in expected.rstrip("\n").split("\n")
    ]
    home = examples.parse_examples((DOCS / "index.md").read_text(encoding="utf-8"))[0]
    assert (home.code, home.output) == (first.code, first.output)


def test_ae1d_example_block_is_byte_identical_to_the_seed_page() -> None:
    seed = DOCS.parents[1] / "shared" / "seed" / "AE1d.md"
    if not seed.is_file():
        pytest.skip("../shared/seed/AE1d.md is not beside the checkout")
    text = seed.read_text(encoding="utf-8")
    start = text.index('???+ example "Example"')
    end = text.index("        ```\n", text.index('=== "Output"', start)) + len("        ```\n")
    block = text[start:end]
    assert block in (DOCS / "api/modules/resnet/AE1d.md").read_text(encoding="utf-8")


def test_parser_reads_tabs_and_rejects_a_lonely_codes_tab() -> None:
    text = (
        '???+ example "x"\n    === "Codes"\n        ```python linenums="1"\n        print(1)\n'
        '        ```\n\n    === "Output"\n        ```\n        1\n        ```\n'
    )
    (found,) = examples.parse_examples(text)
    assert (found.code, found.output, found.language, found.line) == ("print(1)", "1", "python", 4)
    with pytest.raises(ValueError, match="Output tab"):
        examples.parse_examples(text.split('\n\n    === "Output"')[0] + "\n")


@pytest.mark.parametrize(
    ("shown", "printed", "same"),
    [
        ("loss 0.229", "loss 0.229", True),
        ("loss 0.229", "loss 0.230", True),  # a printed rounding that flips
        ("loss 0.229", "loss 0.231", False),
        ("[0.99 1.  ]", "[1.   1.  ]", True),  # numpy pads to the width
        ("estimated [0.010457869619131088]", "estimated [0.010457869619131091]", True),
        ("estimated [0.010457869619131088]", "estimated [0.010467869619131088]", False),
        ("8.34e-07", "8.64e-07", False),  # rounding noise must not be shown at all
        ("59 layers", "60 layers", False),  # integers are exact
        ("(2, 1, 64)", "(2, 1, 65)", False),
        ("a 1.0\nb", "a 1.0 b", False),  # lines stay lines
        ("gain 1.0 dB", "gain 1.0 dB!", False),
        ("x 1.5", "x 1.5 2.5", False),
    ],
)
def test_shown_numbers_compare_within_rounding(shown: str, printed: str, same: bool) -> None:
    assert examples.same_output(shown, printed) is same
