"""A small parser of Google-style docstrings, and their conversion to Markdown.

Used by ``gen_reference.py`` to build the arguments tables of the API pages from the
docstrings of the public API, and by the tests that keep the two in agreement.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

SECTIONS = {
    "Args": "args",
    "Arguments": "args",
    "Attributes": "attributes",
    "Returns": "returns",
    "Raises": "raises",
    "Example": "examples",
    "Examples": "examples",
    "Note": "note",
    "Notes": "note",
    "Yields": "returns",
}
_ITEM = re.compile(r"^(\*{0,2}[\w.]+(?:,\s*[\w.]+)*)(?:\s*\(([^)]*)\))?:(?:\s+(.*))?$")


@dataclass
class Item:
    """One entry of an ``Args``/``Attributes``/``Raises`` section."""

    name: str
    text: str
    type: str | None = None


@dataclass
class Docstring:
    """The parts of a Google-style docstring."""

    summary: str = ""
    description: str = ""
    args: list[Item] = field(default_factory=list)
    attributes: list[Item] = field(default_factory=list)
    returns: str = ""
    raises: list[Item] = field(default_factory=list)
    note: str = ""

    def arg(self, name: str) -> Item | None:
        for item in self.args:
            if item.name == name:
                return item
        return None


def _items(lines: list[str]) -> list[Item]:
    items: list[Item] = []
    for line in lines:
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        match = _ITEM.match(line.strip())
        if indent == 0 and match:
            items.append(Item(match[1], (match[3] or "").strip(), match[2]))
        elif items:
            items[-1].text = (items[-1].text + " " + line.strip()).strip()
    return items


def _block(lines: list[str]) -> str:
    """Free text: paragraphs kept, lines of a paragraph joined, bullets kept on their lines."""
    out: list[str] = []
    for line in lines:
        text = line.strip()
        if not text:
            out.append("")
        elif out and out[-1] and not text.startswith(("* ", "- ")):
            out[-1] += " " + text
        else:
            out.append(text)
    return "\n".join(out).strip()


def parse(obj: object) -> Docstring:
    """Parse the docstring of ``obj`` (an empty :class:`Docstring` when it has none)."""
    doc = obj if isinstance(obj, str) else inspect.getdoc(obj)
    if not doc:
        return Docstring()
    lines = doc.splitlines()
    head: list[str] = []
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        title = line.strip().rstrip(":")
        if line.rstrip().endswith(":") and not line.startswith(" ") and title in SECTIONS:
            current = sections.setdefault(SECTIONS[title], [])
            continue
        if current is None:
            head.append(line)
        else:
            current.append(line[4:] if line.startswith("    ") else line.strip())
    text = _block(head)
    summary, _, rest = text.partition("\n\n")
    return Docstring(
        summary=summary.strip(),
        description=rest.strip(),
        args=_items(sections.get("args", [])),
        attributes=_items(sections.get("attributes", [])),
        returns=_block(sections.get("returns", [])),
        raises=_items(sections.get("raises", [])),
        note=_block(sections.get("note", [])),
    )


_ROLE = re.compile(r":(?:func|class|data|attr|meth|mod|exc):`~?([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")


def to_markdown(text: str, link=None) -> str:  # noqa: ANN001 (link: name -> url or None)
    """reST inline markup of a docstring to Markdown: ````x```` to ```x```, roles to links."""

    def role(match: re.Match[str]) -> str:
        target = match[1]
        shown = target.rsplit(".", 1)[-1] if match[0].startswith(":", 0) else target
        url = link(target) if link is not None else None
        code = f"`{shown}`"
        return f"[{code}]({url})" if url else code

    text = _ROLE.sub(role, text)
    return _LITERAL.sub(lambda m: f"`{m[1]}`", text)
