"""Reading whole numbers from text, as parameters and files carry them."""

from __future__ import annotations


def plain_digits(text: str) -> bool:
    """Whether ``text`` is ASCII digits only: what ``int()`` reads as a number.

    ``str.isdigit`` alone also takes "¹" or "٣", which ``int()`` refuses (or reads
    as another digit); checking both keeps a stray character a 400, never a 500.
    ``int()`` still refuses more than 4,300 digits: callers bound the length.
    """
    return text.isascii() and text.isdigit()
