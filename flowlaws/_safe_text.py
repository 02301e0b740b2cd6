"""Text from certificates and users, made safe to print on a terminal.

Names of variables and models, certificate fields and error messages that
quote them may come from a file someone else wrote. Printed raw, an ANSI
escape code (``"\\x1b[2K\\r"``) or a carriage return can erase a line and write
another in its place — a rejected certificate could *display* as verified.
Every display path passes such text through :func:`printable`, which spells
control and format characters (Unicode categories ``C*``, line and paragraph
separators) as Python escapes and leaves all other text unchanged.

This module does not decide what is trusted: it only makes the text visible
as it is.

Examples
--------
>>> print(printable("x\\x1b[2K\\rcertificate verified"))
x\\x1b[2K\\rcertificate verified
>>> printable("‖W1[i,:]‖² − ‖W2[:,i]‖²")
'‖W1[i,:]‖² − ‖W2[:,i]‖²'
"""

from __future__ import annotations

import unicodedata

__all__ = ["printable"]


def _escape(ch: str) -> str:
    code = ord(ch)
    if ch == "\n":
        return "\\n"
    if ch == "\r":
        return "\\r"
    if ch == "\t":
        return "\\t"
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _unsafe(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat[0] == "C" or cat in ("Zl", "Zp")


def printable(text: object, *, newlines: bool = False) -> str:
    """``str(text)`` with control and format characters escaped (``\\x1b``, ``\\r``, ``\\u202e``).

    Parameters
    ----------
    text : object
        Converted with ``str`` first.
    newlines : bool
        Keep ``"\\n"`` as a line break (for multi-line output the library itself
        assembles); by default it is escaped too, so one field stays on one line.

    Examples
    --------
    >>> printable("a\\nb"), printable("a\\nb", newlines=True)
    ('a\\\\nb', 'a\\nb')
    """
    s = str(text)
    if s.isprintable() and "\u2028" not in s:
        return s
    return "".join(
        ch if (ch == "\n" and newlines) or not _unsafe(ch) else _escape(ch) for ch in s
    )
