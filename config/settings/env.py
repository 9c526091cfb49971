"""Reading the environment, where files go, and whether this is a development run."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("TALLY_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item]


DEBUG = env_bool("DEBUG", False)
# Development conveniences (`make run` sets it; pytest runs with it): any Host
# header and plain-HTTP cookies. Never in production.
TALLY_DEV = env_bool("TALLY_DEV", "PYTEST_VERSION" in os.environ)
