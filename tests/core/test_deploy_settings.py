"""Production settings: `check --deploy` has no security warning, there is no
built-in secret key, gunicorn listens on loopback unless told otherwise."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET = "k3V9-example-production-secret-Qw8zT2mN5pL7xR4cY6bH1jD0fG3sA9uE"
PRINT_SETTINGS = (
    "from django.conf import settings as s; "
    "print(s.ALLOWED_HOSTS, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, "
    "s.SECURE_HSTS_SECONDS)"
)


def _production_env(**overrides: str) -> dict[str, str]:
    """The environment of a production host: none of the development switches."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTEST_VERSION", "TALLY_DEV", "DEBUG", "SECRET_KEY"}
        and key != "ALLOWED_HOSTS"
    }
    env.update(overrides)
    return env


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_has_no_security_warning_with_production_settings():
    result = _manage(
        "check",
        "--deploy",
        env=_production_env(SECRET_KEY=SECRET, ALLOWED_HOSTS="billing.example.com"),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "(security." not in output, output
    assert "(axes." not in output, output


def test_production_defaults_are_https_only_and_name_their_hosts():
    result = _manage(
        "shell",
        "-c",
        PRINT_SETTINGS,
        env=_production_env(
            SECRET_KEY=SECRET, TALLY_PUBLIC_URL="https://billing.example.com"
        ),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == (
        "['localhost', '127.0.0.1', '[::1]', 'billing.example.com'] True True 31536000"
    )


def test_without_secret_key_the_installation_makes_its_own_once(tmp_path):
    env = _production_env(TALLY_VAR_DIR=str(tmp_path))
    print_key = "from django.conf import settings as s; print(s.SECRET_KEY)"
    first = _manage("shell", "-c", print_key, env=env)
    second = _manage("shell", "-c", print_key, env=env)
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip().splitlines()[-1]
    assert len(key) >= 50
    assert second.stdout.strip().splitlines()[-1] == key
    assert (tmp_path / "secret_key").read_text() == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    other = _manage(
        "shell", "-c", print_key, env={**env, "TALLY_VAR_DIR": str(tmp_path / "b")}
    )
    assert other.stdout.strip().splitlines()[-1] != key


@pytest.mark.parametrize("switch", [{"TALLY_DEV": "true"}, {"DEBUG": "true"}])
def test_the_development_switches_allow_plain_http(switch):
    result = _manage("shell", "-c", PRINT_SETTINGS, env=_production_env(**switch))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "['*'] False False 0"


@pytest.mark.parametrize(
    ("env", "bind"),
    [({}, "127.0.0.1:8000"), ({"HOST": "0.0.0.0", "PORT": "9000"}, "0.0.0.0:9000")],
)
def test_gunicorn_binds_loopback_unless_told_otherwise(monkeypatch, env, bind):
    monkeypatch.delenv("HOST", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    config = runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))
    assert config["bind"] == bind


def test_gunicorn_workers_freeze_what_they_loaded():
    """After a worker loads the app, its objects leave the collector's reach."""
    import gc

    config = runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))
    try:
        config["post_worker_init"](None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
