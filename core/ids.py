"""Object ids shaped like Stripe's: a prefix, an underscore, random characters."""

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
_BASE = len(_ALPHABET)
# 24 base-62 characters carry about 143 bits of randomness: unguessable.
_RANDOM_LENGTH = 24


def new_id(prefix: str, *, length: int = _RANDOM_LENGTH) -> str:
    """Return a new random id such as ``cus_Nf3...``.

    One draw of a number below 62**length, written in base 62: every id equally
    likely, as with a draw per character, but one read of the system's randomness
    instead of one per character (ids are made on every request).
    """
    number = secrets.randbelow(_BASE**length)
    characters = []
    for _ in range(length):
        number, digit = divmod(number, _BASE)
        characters.append(_ALPHABET[digit])
    return f"{prefix}_{''.join(characters)}"


def new_secret(prefix: str) -> str:
    """Return a new secret (API key, webhook secret) with 32 random characters."""
    return new_id(prefix, length=32)


def id_default(prefix: str):
    """Return a callable for a model field default that makes ids with ``prefix``.

    A named function, not a lambda, so migrations can serialise it.
    """
    return _IdFactory(prefix)


class _IdFactory:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self) -> str:
        return new_id(self.prefix)

    def deconstruct(self):
        return ("core.ids._IdFactory", (self.prefix,), {})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _IdFactory) and other.prefix == self.prefix

    def __hash__(self) -> int:
        return hash(self.prefix)
