"""Bracket depth of a JSON text, measured before ``json.loads`` (which recurses per level).

Pure standard-library code with no flowlaws import, so that both the checker and
:func:`flowlaws.load` can refuse a deeply nested file with a one-line error
instead of a ``RecursionError``. It does not validate the JSON.
"""

from __future__ import annotations

import re

__all__ = ["MAX_JSON_DEPTH", "json_too_deep"]

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
