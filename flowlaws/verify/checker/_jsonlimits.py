"""Bracket depth of a JSON text, measured before ``json.loads`` (which recurses per level).

Pure standard-library code with no flowlaws import, so that both the checker and
:func:`flowlaws.load` can refuse a deeply nested file with a one-line error
instead of a ``RecursionError``. It does not validate the JSON.
"""

from __future__ import annotations

import re

__all__ = ["MAX_JSON_DEPTH", "json_too_deep", "object_too_deep"]

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)  # a string (skipped whole) or a bracket

#: Nesting of ``[`` / ``{`` accepted in a certificate or graph file.
MAX_JSON_DEPTH = 64


def json_too_deep(text: str, max_depth: int = MAX_JSON_DEPTH) -> int | None:
    """The offset where the nesting of ``[``/``{`` outside strings first exceeds ``max_depth``, else None.

    Linear in ``len(text)``; brackets inside JSON strings (with ``\\"`` escapes) are ignored.

    Examples
    --------
    >>> json_too_deep('{"a": [[1]], "b": "[[[["}', 2) is None
    False
    >>> json_too_deep('{"a": [1], "b": "[[[["}', 2) is None
    True
    >>> json_too_deep("[" * 100000, 64)
    64
    """
    if _shallow(text, max_depth):
        return None
    depth = 0
    for m in _TOKEN.finditer(text):
        ch = m.group()
        if ch in "[{":
            depth += 1
            if depth > max_depth:
                return m.start()
        elif ch in "]}":
            depth -= 1
    return None


_KEEP = b'"[]{}'
_DELETE = bytes(c for c in range(256) if c not in _KEEP)
_PARENS = bytes.maketrans(b"[{]}", b"(())")


def _shallow(text: str, max_depth: int) -> bool:
    """True when the brackets outside strings surely nest at most ``max_depth`` deep, by C-speed
    passes over bytes: escape pairs dropped, everything but quotes and brackets deleted, strings
    (now quotes around brackets only) removed, then each removal of the innermost ``()`` pairs
    lowers the depth by one. False means "measure exactly" (deep, unbalanced, or an
    unterminated string)."""
    data = text.encode("utf-8", "surrogatepass")
    if b"\\" in data:
        data = re.sub(rb"\\.", b"", data, flags=re.DOTALL)
    data = re.sub(rb'"[^"]*"', b"", data.translate(None, _DELETE))
    if b'"' in data:
        return False
    rest = data.translate(_PARENS)
    for _ in range(max_depth):
        if not rest:
            return True
        rest = rest.replace(b"()", b"")
    return not rest


def object_too_deep(obj: object, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """Whether lists/dicts in ``obj`` (a certificate given as Python objects) nest deeper than ``max_depth``.

    Iterative, so a list nested 100,000 deep is measured, not a ``RecursionError``; it
    stops at the first container past the limit.

    Examples
    --------
    >>> object_too_deep({"a": [[1]]}, 2), object_too_deep({"a": [[1]]}, 3)
    (True, False)
    """
    level: list[object] = [obj] if isinstance(obj, (dict, list, tuple)) else []
    depth = 1
    while level:  # the containers at this depth, breadth first
        if depth > max_depth:
            return True
        below: list[object] = []
        for item in level:
            children = item.values() if isinstance(item, dict) else item
            if _SCALARS.issuperset(map(type, children)):  # a long list of numbers: C-speed
                continue
            below += [child for child in children if isinstance(child, (dict, list, tuple))]
        level = below
        depth += 1
    return False


_SCALARS = frozenset({int, float, str, bool, type(None)})
