"""Secret key, hosts, HTTPS, proxies and staff login throttling."""

import os
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from config.settings.env import DEBUG, TALLY_DEV, VAR_DIR, env_bool, env_list

_PRODUCTION = not (DEBUG or TALLY_DEV)


def _installation_secret_key() -> str:
    """This installation's own random key, made once under TALLY_VAR_DIR.

    There is no built-in key: without SECRET_KEY, one machine (``make run``, a
    single-box install) signs with a key of its own. Several web hosts must share
    one SECRET_KEY instead.
    """
    path = VAR_DIR / "secret_key"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if len(key) < 50:
            raise ImproperlyConfigured(f"{path} holds no usable key") from None
        return key
    key = secrets.token_urlsafe(50)
    with os.fdopen(descriptor, "w") as file:
        file.write(key)
    return key


SECRET_KEY = os.environ.get("SECRET_KEY", "").strip() or _installation_secret_key()

# Behind a proxy, list the public host names; TALLY_PUBLIC_URL's host is added.
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if _PRODUCTION else "*"
)
_public_host = urlsplit(os.environ.get("TALLY_PUBLIC_URL", "")).hostname
if _public_host and "*" not in ALLOWED_HOSTS:
    ALLOWED_HOSTS.append(_public_host)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# HTTPS (`manage.py check --deploy` is clean with the production defaults): the
# dashboard's cookies only over HTTPS, HTTP redirected to HTTPS, and HSTS telling
# browsers to come back over HTTPS only. TALLY_DEV turns them off for plain HTTP.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _PRODUCTION)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _PRODUCTION)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", _PRODUCTION)
SECURE_HSTS_SECONDS = int(
    os.environ.get("SECURE_HSTS_SECONDS", "31536000" if _PRODUCTION else "0")
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
# Reverse proxies in front (terminating TLS): their X-Forwarded-Proto says whether
# the client used HTTPS, and their X-Forwarded-For gives the client's address.
TALLY_PROXY_COUNT = int(os.environ.get("TALLY_PROXY_COUNT", "0"))
if TALLY_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


LOGIN_URL = "admin:login"

# Staff login throttling (django-axes): this many failed logins for one username
# from one address lock that pair out for the cool-off; a success resets the count.
AXES_FAILURE_LIMIT = int(os.environ.get("TALLY_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(
    minutes=int(os.environ.get("TALLY_LOGIN_COOLOFF_MINUTES", "15"))
)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/login_locked_out.html"
# The client's address: the connection's own, unless TALLY_PROXY_COUNT trusted
# reverse proxies stand in front (then the X-Forwarded-For entry they added).
# Trusting the header without a proxy would let a client pick a new address for
# every attempt.
if TALLY_PROXY_COUNT:
    AXES_IPWARE_PROXY_COUNT = TALLY_PROXY_COUNT
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)
