"""MkDocs hooks: the API navigation, and ``source:`` links resolved to source pages.

* ``on_config``: the "API reference" entry of the navigation gets one section per group of
  ``gen_reference.nav()``, so the sidebar lists every public name without a hand-kept list.
* ``on_page_markdown``: a link ``(source:mdnc/data/io.py#read_recording)`` written by the
  generator becomes a relative link to the generated source page of that file, at the line
  that defines the name. Lines are looked up at build time, so the pages do not change
  when a source file does.
"""

from __future__ import annotations

import posixpath
import re
import sys
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
_SOURCE_LINK = re.compile(r"\(source:(?P<path>[\w./-]+\.py)#(?P<name>\w+)\)")


@cache
def _definition_line(path: str, name: str) -> int | None:
    """The 1-based line of ``class NAME``, ``def NAME`` or ``NAME =`` in a source file."""
    pattern = re.compile(rf"^(?:(?:class|def)\s+{name}\b|{name}\s*(?::[^=]*)?=)")
    for number, line in enumerate((ROOT / path).read_text(encoding="utf-8").splitlines(), 1):
        if pattern.match(line):
            return number
    return None


def on_config(config, **kwargs):  # noqa: ANN001, ANN201, ARG001 (MkDocs hook signature)
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    import gen_reference

    api = gen_reference.nav()
    for i, item in enumerate(config.nav or []):
        if isinstance(item, dict) and "API reference" in item:
            config.nav[i] = {"API reference": api}
    return config


def on_page_markdown(markdown, page, **kwargs):  # noqa: ANN001, ANN201, ARG001
    here = posixpath.dirname(page.file.src_uri)

    def link(match: re.Match[str]) -> str:
        path, name = match["path"], match["name"]
        target = "source/" + path.removesuffix(".py") + ".md"
        rel = posixpath.relpath(target, here or ".")
        line = _definition_line(path, name)
        return f"({rel}#__codelineno-0-{line})" if line else f"({rel})"

    return _SOURCE_LINK.sub(link, markdown)


_LINE_ANCHOR = re.compile(r'id="(__codelineno-[\w-]+)"')


def on_page_content(html, page, **kwargs):  # noqa: ANN001, ANN201, ARG001
    # Line anchors live in the highlighted code, which MkDocs' anchor check does not see:
    # register them so that links to source lines are validated like any other anchor.
    if page.present_anchor_ids is not None:
        page.present_anchor_ids.update(_LINE_ANCHOR.findall(html))
    return html
