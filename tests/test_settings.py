"""Settings come from the environment: each variant is checked in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "a-production-secret-that-is-long-and-random-" + "x" * 30,
    "DJANGO_ALLOWED_HOSTS": "flowyard.example.com",
}


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    clean.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=ROOT, env={**clean, **env}
    )


def settings_value(expression: str, env: dict[str, str]) -> object:
    script = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({expression}, default=str))"
    )
    result = run(["-c", script], {"DJANGO_SETTINGS_MODULE": "config.settings", **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_check_deploy_is_clean_with_production_settings() -> None:
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key() -> None:
    env = {**PRODUCTION, "DJANGO_SECRET_KEY": ""}
    result = run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_the_embedded_defaults_are_sqlite_and_the_in_memory_layer() -> None:
    engine, layer = settings_value(
        "[settings.DATABASES['default']['ENGINE'], settings.CHANNEL_LAYERS['default']['BACKEND']]",
        {},
    )
    assert engine == "django.db.backends.sqlite3"
    assert layer == "channels.layers.InMemoryChannelLayer"


def test_database_url_accepts_a_sqlite_path(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    name = settings_value(
        "settings.DATABASES['default']['NAME']", {"DATABASE_URL": f"sqlite:///{path}"}
    )
    assert name == str(path)


def test_database_url_selects_postgresql() -> None:
    engine = settings_value(
        "settings.DATABASES['default']['ENGINE']",
        {"DATABASE_URL": "postgres://flowyard:secret@db.example.com:5432/flowyard"},
    )
    assert engine == "django.db.backends.postgresql"


def test_redis_url_switches_to_channels_redis_with_a_deliberate_capacity() -> None:
    layer = settings_value(
        "settings.CHANNEL_LAYERS['default']", {"REDIS_URL": "redis://127.0.0.1:6379/3"}
    )
    assert layer["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert layer["CONFIG"]["hosts"] == [
        {"address": "redis://127.0.0.1:6379/3", "socket_timeout": 30}
    ]
    assert layer["CONFIG"]["capacity"] == 1000


def test_production_cookies_are_secure() -> None:
    secure = settings_value(
        "[settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, settings.DEBUG]", PRODUCTION
    )
    assert secure == [True, True, False]
