"""Object ids shaped like Stripe's: a prefix, an underscore, random characters."""

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
# 24 base-62 characters carry about 143 bits of randomness: unguessable.
_RANDOM_LENGTH = 24


def new_id(prefix: str, *, length: int = _RANDOM_LENGTH) -> str:
    """Return a new random id such as ``cus_Nf3...``."""
    return f"{prefix}_{''.join(secrets.choice(_ALPHABET) for _ in range(length))}"


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
