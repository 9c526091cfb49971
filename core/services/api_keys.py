"""API keys, secret (``sk_``) or restricted (``rk_``): created once (secret shown
once), stored hashed, revocable."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import datetime, timedelta

from core.api.access import permissions_validate
from core.ids import new_secret
from core.models import ApiKey

# Refresh ``last_used_at`` at most this often, so reads do not turn into writes.
_LAST_USED_RESOLUTION = timedelta(minutes=5)
# A verified key is remembered in-process this long (monotonic seconds), so busy
# endpoints such as meter events skip the lookup. api_key_revoke forgets it here at
# once; other processes stop accepting it within this delay.
_CACHE_SECONDS = 2.0
_CACHE_SIZE = 1000
_cache: dict[str, tuple[float, ApiKey]] = {}
_cache_lock = threading.Lock()


def hash_secret(secret: str) -> str:
    # Secrets carry ~190 random bits, so a fast hash is as safe as a slow one here.
    return hashlib.sha256(secret.encode()).hexdigest()


def redact(secret: str) -> str:
    """Show a secret the way Stripe does in errors: ``sk_test_****abcd``."""
    prefixes = ("sk_live_", "sk_test_", "rk_live_", "rk_test_")
    head = secret[:8] if secret.startswith(prefixes) else "sk_test_"
    return f"{head}****{secret[-4:]}" if len(secret) > 12 else "****"


def api_key_create(
    *,
    name: str = "",
    livemode: bool = False,
    permissions: dict[str, str] | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns it and its secret, which is not stored anywhere.

    ``permissions`` (resource -> none/read/write, ``core.api.access``) makes it a
    restricted ``rk_`` key; without them it is a secret ``sk_`` key.
    """
    kind = "sk" if permissions is None else "rk"
    secret = new_secret(f"{kind}_live" if livemode else f"{kind}_test")
    api_key = ApiKey.objects.create(
        name=name,
        secret_hash=hash_secret(secret),
        redacted=f"{secret[:8]}...{secret[-4:]}",
        livemode=livemode,
        permissions=None if permissions is None else permissions_validate(permissions),
    )
    return api_key, secret


def api_key_authenticate(*, secret: str, now: datetime) -> ApiKey | None:
    """Return the active key with this secret, or None."""
    secret_hash = hash_secret(secret)
    cached = _cache.get(secret_hash)
    if cached is not None and time.monotonic() - cached[0] < _CACHE_SECONDS:
        return cached[1]
    api_key = (
        ApiKey.objects.filter(secret_hash=secret_hash, revoked_at__isnull=True)
        .only("id", "livemode", "permissions", "redacted", "last_used_at", "revoked_at")
        .first()
    )
    if api_key is None:
        return None
    if (
        api_key.last_used_at is None
        or api_key.last_used_at < now - _LAST_USED_RESOLUTION
    ):
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    with _cache_lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.clear()
        _cache[secret_hash] = (time.monotonic(), api_key)
    return api_key


def api_key_revoke(*, api_key: ApiKey, now: datetime) -> ApiKey:
    """Revoke a key; requests with it fail with 401 from now on."""
    if api_key.revoked_at is None:
        api_key.revoked_at = now
        api_key.save(update_fields=["revoked_at"])
    with _cache_lock:
        _cache.pop(api_key.secret_hash, None)
    return api_key
