"""Run the examples of the documentation and compare (or update) their shown outputs.

An example is a pair of content tabs inside an admonition, as on the seed page::

    ???+ example "Example"
        === "Codes"
            ```python linenums="1"
            print(1 + 1)
            ```

        === "Output"
            ```
            2
            ```

``python`` examples run in this process (a fresh namespace each, ``torch.manual_seed(0)``
first, one CPU thread); ``bash`` examples run with ``bash -e -o pipefail`` and see this
Python's ``bin`` folder first on ``PATH`` (so ``mdnc`` and ``python`` are this
environment's). The examples of a page share one temporary working folder, in page order,
so a later example can use the files an earlier one wrote. What an example prints (stdout;
for ``bash`` also stderr) is compared with the Output tab, trailing spaces aside, and
numbers within a rounding tolerance (:func:`same_output`): a shown output must not depend
on the CPU, the thread count or the order of a sum, so a number that is rounding noise
(a largest difference, a timing) is never shown; the code prints a bound instead.

Usage::

    python docs/examples.py                 # check every page; exit 1 on a difference
    python docs/examples.py --update        # rewrite the Output tabs with what runs print
    python docs/examples.py docs/index.md   # only these pages
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import os
import re
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PENDING = "(not run yet: make docs-update)"
_CODES = re.compile(r'^(?P<indent> *)=== "Codes"\s*$')
_OUTPUT = re.compile(r'^(?P<indent> *)=== "Output"\s*$')
_FENCE = re.compile(r"^(?P<indent> *)(?P<ticks>`{3,})(?P<info>.*)$")
LANGUAGES = {"python": "python", "py": "python", "bash": "bash", "sh": "bash", "console": "bash"}


@dataclass
class Example:
    """One example of a page: its code, language and shown output, with line positions."""

    code: str
    language: str
    output: str
    output_lines: tuple[int, int]  # [start, end) of the output's content lines
    indent: int
    line: int  # 1-based line of the code's first line


def normalize_code(code: str) -> str:
    """The code without trailing spaces and surrounding blank lines (a lookup key)."""
    return "\n".join(line.rstrip() for line in code.strip("\n").split("\n"))


def _normalize_output(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.rstrip().split("\n")).strip("\n")


def _fenced(lines: list[str], i: int, indent: int) -> tuple[str, str, int, int]:
    """The fenced block starting at or after line ``i``: (info, content, start, end)."""
    while i < len(lines) and not lines[i].strip():
        i += 1
    match = _FENCE.match(lines[i]) if i < len(lines) else None
    if match is None or len(match["indent"]) != indent:
        raise ValueError(f"line {i + 1}: expected a fenced block indented by {indent} spaces")
    ticks, start = match["ticks"], i + 1
    end = start
    while end < len(lines) and lines[end].strip() != ticks:
        end += 1
    if end == len(lines):
        raise ValueError(f"line {i + 1}: unclosed fenced block")
    content = "\n".join(ln[indent:] if ln.strip() else "" for ln in lines[start:end])
    return match["info"].strip(), content, start, end


def parse_examples(text: str) -> list[Example]:
    """The examples of a page, in order."""
    lines = text.split("\n")
    found = []
    i = 0
    while i < len(lines):
        codes = _CODES.match(lines[i])
        if codes is None:
            i += 1
            continue
        indent = len(codes["indent"]) + 4
        info, code, c_start, c_end = _fenced(lines, i + 1, indent)
        j = c_end + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        out = _OUTPUT.match(lines[j]) if j < len(lines) else None
        if out is None or len(out["indent"]) != len(codes["indent"]):
            raise ValueError(f"line {i + 1}: a Codes tab must be followed by an Output tab")
        _, output, o_start, o_end = _fenced(lines, j + 1, indent)
        language = LANGUAGES.get(info.split()[0] if info else "", "")
        if not language:
            raise ValueError(f"line {c_start}: example language must be python or bash")
        found.append(Example(code, language, output, (o_start, o_end), indent, c_start + 1))
        i = o_end + 1
    return found


@contextlib.contextmanager
def _chdir(path: Path) -> Iterator[None]:
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONHASHSEED"] = "0"
    env["COLUMNS"] = "100"
    env.pop("PYTHONSTARTUP", None)
    return env


def run_example(example: Example, cwd: Path, name: str = "<example>") -> str:
    """Run one example in ``cwd``; return what it printed."""
    if example.language == "bash":
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", example.code],
            cwd=cwd,
            env=_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{name}: the bash example exited with {done.returncode}:\n{done.stdout}"
            )
        return done.stdout
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    buffer = io.StringIO()
    namespace = {"__name__": "__main__"}
    with _chdir(cwd), contextlib.redirect_stdout(buffer):
        exec(compile(example.code, name, "exec"), namespace)  # noqa: S102 (our own examples)
    return buffer.getvalue()


def run_page(path: Path) -> list[tuple[Example, str | None, str]]:
    """Run the examples of a page in order, in one temporary folder.

    Returns:
        ``(example, printed, error)`` per example: ``printed`` is None and ``error`` the
        traceback when the example raised.
    """
    examples = parse_examples(path.read_text(encoding="utf-8"))
    results: list[tuple[Example, str | None, str]] = []
    with tempfile.TemporaryDirectory(prefix="mdnc-docs-") as tmp:
        for example in examples:
            where = f"{path.name}:{example.line}"
            try:
                results.append((example, run_example(example, Path(tmp), where), ""))
            except Exception:  # reported with the page and line of the example
                results.append((example, None, traceback.format_exc()))
    return results


_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def _digit_unit(token: str) -> float:
    """One unit in the last digit written in ``token`` (``"0.229"`` -> 0.001)."""
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)


def _close(shown: str, got: str) -> bool:
    """Whether two numbers differ by rounding only: integers must be equal; decimals may
    differ by one unit in the last digit shown (a printed rounding that flips) or by
    1e-4 relative (float32 sums in another order)."""
    if shown == got:
        return True
    if not any(c in shown + got for c in ".eE"):
        return False
    a, b = float(shown), float(got)
    bound = max(_digit_unit(shown), _digit_unit(got), 1e-4 * max(abs(a), abs(b)))
    return abs(a - b) <= bound * (1 + 1e-9)  # the slack: 0.230 - 0.229 is not 0.001 exactly


def same_output(shown: str, got: str) -> bool:
    """Whether an example printed what its page shows: the same text, the same numbers in
    the same places, each number within :func:`_close` (runs of spaces around numbers
    aside, as array printing pads them to their width)."""
    if shown == got:
        return True
    parts_shown, parts_got = _NUMBER.split(shown), _NUMBER.split(got)
    if [re.sub(" +", " ", p) for p in parts_shown] != [re.sub(" +", " ", p) for p in parts_got]:
        return False
    numbers = zip(_NUMBER.findall(shown), _NUMBER.findall(got), strict=True)  # as many each
    return all(_close(a, b) for a, b in numbers)


def differences(path: Path) -> list[str]:
    """A unified diff per example of ``path`` whose shown output differs from its run."""
    problems = []
    for example, printed, error in run_page(path):
        if printed is None:
            problems.append(f"{path}:{example.line}: the example failed:\n{error}")
            continue
        shown, got = _normalize_output(example.output), _normalize_output(printed)
        if not same_output(shown, got):
            diff = difflib.unified_diff(
                shown.split("\n"), got.split("\n"), "shown on the page", "printed", lineterm=""
            )
            problems.append(f"{path}:{example.line}:\n" + "\n".join(diff))
    return problems


def update(path: Path) -> tuple[bool, list[str]]:
    """Rewrite the Output tabs of ``path`` with what its examples print.

    Returns:
        Whether the page changed, and the errors of the examples that failed (their
        outputs are left as they were).
    """
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    errors = []
    for example, printed, error in reversed(run_page(path)):
        if printed is None:
            errors.insert(0, f"{path}:{example.line}: the example failed:\n{error}")
            continue
        if same_output(_normalize_output(example.output), _normalize_output(printed)):
            continue  # equal up to rounding: this host's digits are no news
        start, end = example.output_lines
        pad = " " * example.indent
        body = _normalize_output(printed).split("\n")
        lines[start:end] = [pad + ln if ln else "" for ln in body]
    new = "\n".join(lines)
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text, errors


def pages(root: Path = HERE) -> list[Path]:
    """The Markdown pages under ``root`` that hold at least one example."""
    return [
        p
        for p in sorted(root.rglob("*.md"))
        if '=== "Codes"' in p.read_text(encoding="utf-8")
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check or update the documentation examples.")
    parser.add_argument("pages", nargs="*", type=Path, help="pages (default: all of docs/)")
    parser.add_argument("--update", action="store_true", help="rewrite the Output tabs")
    args = parser.parse_args(argv)
    targets = args.pages or pages()
    failed = count = 0
    for path in targets:
        count += len(parse_examples(path.read_text(encoding="utf-8")))
        if args.update:
            changed, errors = update(path)
            print(f"{'updated' if changed else 'unchanged'}: {path}")
            failed += len(errors)
            for e in errors:
                print(e)
        else:
            problems = differences(path)
            failed += len(problems)
            for p in problems:
                print(p)
    if failed:
        what = "failed" if args.update else "differ or fail"
        print(f"{failed} example(s) {what}" + ("" if args.update else ": make docs-update"))
    elif not args.update:
        print(f"{count} examples on {len(targets)} pages: every shown output is what they print")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
