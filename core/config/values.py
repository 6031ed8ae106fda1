"""``$variables`` in a config: find them in attribute text and resolve them against a task's data.

Label Studio's value templates are ``$field``, ``$a.b`` (a key inside an object), ``$arr[0]`` (an item
of a list), or free text with such variables embedded (``"Task: $title"``). The data key a template
*reads* is the first name (``"a"`` for ``"$a.b"``).
"""
from __future__ import annotations

import re
from typing import Any

# A variable: "$" + identifier, then any number of ".key" or "[index]" steps.
_VARIABLE_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_]+|\[\d+\])*)")
_STEP_RE = re.compile(r"\.([A-Za-z0-9_]+)|\[(\d+)\]")

_MISSING = object()


def variables_in(text: str) -> tuple[str, ...]:
    """The top-level data keys read by ``text``, in order, each once (``"$a.b and $c"`` -> a, c)."""
    return tuple(dict.fromkeys(m.group(1) for m in _VARIABLE_RE.finditer(text or "")))


def variable_paths(text: str) -> tuple[tuple[str, tuple[str | int, ...]], ...]:
    """Each variable of ``text`` with its path: ``"$a.b[0]"`` -> ``(("a", ("b", 0)),)``."""
    return tuple((m.group(1), _steps(m.group(2))) for m in _VARIABLE_RE.finditer(text or ""))


def is_single_variable(text: str) -> bool:
    """Whether ``text`` is exactly one variable (``"$a.b"``), so it resolves to a raw value."""
    return _VARIABLE_RE.fullmatch((text or "").strip()) is not None


_MAX_INDEX_DIGITS = 18
"""An ``[index]`` of more digits names no item of any list (and ``int()`` refuses more than 4300 digits)."""


def _steps(path: str) -> tuple[str | int, ...]:
    return tuple(key if key else _index(index) for key, index in _STEP_RE.findall(path))


def _index(digits: str) -> int:
    return int(digits) if len(digits) <= _MAX_INDEX_DIGITS else 10**_MAX_INDEX_DIGITS


def _follow(value: Any, steps: tuple[str | int, ...]) -> tuple[Any, int]:
    """Walk ``steps`` into ``value``; return the value reached and how many steps succeeded."""
    for done, step in enumerate(steps):
        if isinstance(step, int) and isinstance(value, list) and -len(value) <= step < len(value):
            value = value[step]
        elif isinstance(step, str) and isinstance(value, dict) and step in value:
            value = value[step]
        else:
            return value, done
    return value, len(steps)


def lookup(data: dict[str, Any], variable: str, steps: tuple[str | int, ...] = ()) -> Any:
    """``data[variable]`` followed along ``steps``, or the private sentinel when anything is missing."""
    if not isinstance(data, dict) or variable not in data:
        return _MISSING
    value, done = _follow(data[variable], steps)
    return value if done == len(steps) else _MISSING


def is_missing(value: Any) -> bool:
    """Whether :func:`lookup` found nothing."""
    return value is _MISSING


def resolve_value(value_template: str, data: dict[str, Any]) -> object:
    """Resolve a value template against a task's ``data``, as Label Studio does when showing a task.

    - ``"$image"`` -> ``data["image"]`` as is (a URL, a list, a dict ...); ``"$a.b"`` ->
      ``data["a"]["b"]``; ``"$arr[0]"`` -> ``data["arr"][0]``. None when the key or path is missing.
    - Text with embedded variables (``"Task: $title"``) -> a string with each variable replaced by
      its value (``str()`` of non-strings). A variable whose key is missing stays as written, so a
      preview shows what is missing; when only part of a path resolves, the rest stays as text
      (``"$name."`` at the end of a sentence is the variable ``name`` followed by a full stop).
    - Text without ``$`` is returned unchanged.
    """
    template = value_template or ""
    single = _VARIABLE_RE.fullmatch(template.strip())
    if single:
        found = lookup(data, single.group(1), _steps(single.group(2)))
        return None if found is _MISSING else found

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if not isinstance(data, dict) or name not in data:
            return match.group(0)
        steps = _steps(match.group(2))
        value, done = _follow(data[name], steps)
        rest = "".join(_step_text(step) for step in steps[done:])
        return (value if isinstance(value, str) else _to_text(value)) + rest

    return _VARIABLE_RE.sub(replace, template)


def _step_text(step: str | int) -> str:
    return f"[{step}]" if isinstance(step, int) else f".{step}"


def _to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, ensure_ascii=False)
    return str(value)


def set_path(data: dict[str, Any], variable: str, steps: tuple[str | int, ...], value: Any) -> None:
    """Store ``value`` at ``$variable`` + ``steps`` in ``data``, creating dicts/lists on the way.

    Existing values are kept (the first writer wins), so a sample task never overwrites data.
    """
    if not steps:
        data.setdefault(variable, value)
        return
    container: Any = data.setdefault(variable, {} if isinstance(steps[0], str) else [])
    for position, step in enumerate(steps):
        last = position == len(steps) - 1
        nxt: Any = value if last else ({} if isinstance(steps[position + 1], str) else [])
        if isinstance(step, str) and isinstance(container, dict):
            container = container.setdefault(step, nxt)
        elif isinstance(step, int) and isinstance(container, list):
            while len(container) <= step:
                container.append(nxt if len(container) == step else _filler(nxt))
            container = container[step]
        else:
            return  # the data already holds something of another shape there; leave it alone


def _filler(like: Any) -> Any:
    return {} if isinstance(like, dict) else [] if isinstance(like, list) else like
