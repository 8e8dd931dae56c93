"""No function under the ``mdnc`` package is longer than 60 lines (docstring excluded).

The count is that of ``shared/hooks/funclen.py``: from the ``def`` line to the function's
last line, minus the lines of its docstring; methods, nested and async functions included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mdnc

LIMIT = 60
PACKAGE = Path(mdnc.__file__).resolve().parent


def function_lengths(source: str) -> list[tuple[int, str, int]]:
    """``(line, name, length)`` of every function in ``source``, docstring lines excluded."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        n = node.end_lineno - node.lineno + 1
        first = node.body[0]
        if (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
        ):
            n -= first.end_lineno - first.lineno + 1
        found.append((node.lineno, node.name, n))
    return found


def long_functions(source: str, limit: int = LIMIT) -> list[tuple[int, str, int]]:
    return [f for f in function_lengths(source) if f[2] > limit]


def test_no_function_over_the_limit() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for line, name, n in long_functions(path.read_text(encoding="utf-8")):
            where = path.relative_to(PACKAGE.parent).as_posix()
            offenders.append(f"{where}:{line} {name} ({n} lines)")
    assert not offenders, (
        f"{len(offenders)} function(s) longer than {LIMIT} lines (docstring excluded); split "
        "them into named steps:\n" + "\n".join(offenders)
    )


def _function(name: str, body_lines: int, docstring_lines: int = 0) -> str:
    """Source of a function of ``1 + docstring_lines + body_lines`` lines."""
    lines = [f"def {name}():"]
    if docstring_lines == 1:
        lines.append('    """One line."""')
    elif docstring_lines > 1:
        lines += ['    """Summary.'] + ["    more"] * (docstring_lines - 2) + ['    """']
    lines += [f"    x{i} = {i}" for i in range(body_lines)]
    return "\n".join(lines) + "\n"


def test_counter_flags_only_functions_over_the_limit() -> None:
    too_long = _function("too_long", LIMIT)  # def line + 60 = 61 lines
    at_limit = _function("at_limit", LIMIT - 1, docstring_lines=30)  # 90 lines, 60 counted
    method = "".join(f"    {line}\n" for line in _function("method", LIMIT).splitlines())
    source = f"{too_long}\n\nclass C:\n{method}\n\n{at_limit}\n\nasync def short():\n    pass\n"
    lengths = {name: n for _, name, n in function_lengths(source)}
    assert lengths == {"too_long": 61, "method": 61, "at_limit": 60, "short": 2}
    assert sorted(name for _, name, _ in long_functions(source)) == ["method", "too_long"]
