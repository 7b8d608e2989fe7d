"""Settings come from the environment and fail loudly, naming the variable, on a bad value."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_settings(**environment: str) -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter with exactly these variables set."""
    env = {"PATH": os.environ["PATH"], "DATA_DIR": environment.pop("DATA_DIR", "/tmp/reactionsite-settings-test")}
    env.update(environment)
    code = (
        "import reactionsite.settings as s; "
        "print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.CHANNEL_LAYERS['default']['BACKEND'], "
        "s.CACHES['default']['BACKEND'], s.MEDIA_ROOT)"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_nothing_set_but_the_key_gives_sqlite_and_the_in_memory_layer():
    result = load_settings(SECRET_KEY="k")
    assert result.returncode == 0, result.stderr
    debug, engine, layer, cache, _ = result.stdout.split()
    assert (debug, engine) == ("False", "django.db.backends.sqlite3")
    assert layer == "channels.layers.InMemoryChannelLayer"
    assert cache.endswith("LocMemCache")


def test_database_and_redis_urls_switch_to_the_scale_out_setup():
    result = load_settings(
        SECRET_KEY="k", DATABASE_URL="postgres://u:p@db.internal:5432/rs", REDIS_URL="redis://cache.internal:6379/1"
    )
    assert result.returncode == 0, result.stderr
    _, engine, layer, cache, _ = result.stdout.split()
    assert engine == "django.db.backends.postgresql"
    assert layer == "channels_redis.core.RedisChannelLayer"
    assert cache.endswith("RedisCache")


def test_the_media_root_can_be_configured():
    result = load_settings(SECRET_KEY="k", MEDIA_ROOT="/srv/reactionsite-media")
    assert result.stdout.split()[-1] == "/srv/reactionsite-media"


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({}, "SECRET_KEY"),
        ({"DEBUG": "0"}, "SECRET_KEY"),
        ({"SECRET_KEY": "k", "DEBUG": "perhaps"}, "DEBUG"),
        ({"SECRET_KEY": "k", "DATABASE_URL": "mysql://db/x"}, "DATABASE_URL"),
        ({"SECRET_KEY": "k", "DATABASE_URL": "postgres:///nohost"}, "DATABASE_URL"),
        ({"SECRET_KEY": "k", "REDIS_URL": "localhost:6379"}, "REDIS_URL"),
        ({"SECRET_KEY": "k", "MEDIA_ROOT": "relative/media"}, "MEDIA_ROOT"),
        ({"SECRET_KEY": "k", "STIMULUS_MAX_MEGABYTES": "lots"}, "STIMULUS_MAX_MEGABYTES"),
        ({"SECRET_KEY": "k", "STIMULUS_MAX_MEGABYTES": "0"}, "STIMULUS_MAX_MEGABYTES"),
        ({"SECRET_KEY": "k", "PUBLIC_BASE_URL": "ftp://example.org"}, "PUBLIC_BASE_URL"),
        ({"SECRET_KEY": "k", "BEHIND_TLS_PROXY": "maybe"}, "BEHIND_TLS_PROXY"),
        ({"SECRET_KEY": "k", "EMOTION_MODEL_PATH": "/nowhere/emotion.keras"}, "EMOTION_MODEL_PATH"),
        ({"SECRET_KEY": "k", "EMOTION_VIEWS": "3"}, "EMOTION_VIEWS"),
        ({"SECRET_KEY": "k", "EMOTION_PRECISION": "fp16"}, "EMOTION_PRECISION"),
        ({"SECRET_KEY": "k", "FRAME_WORKERS": "0"}, "FRAME_WORKERS"),
        ({"SECRET_KEY": "k", "CAPTURE_BATCH_BUDGET_MS": "fast"}, "CAPTURE_BATCH_BUDGET_MS"),
        ({"SECRET_KEY": "k", "PRELOAD_EMOTION_MODEL": "perhaps"}, "PRELOAD_EMOTION_MODEL"),
        ({"SECRET_KEY": "k", "API_RATE": "lots"}, "API_RATE"),
        ({"SECRET_KEY": "k", "API_INVITE_RATE": "5/fortnight"}, "API_INVITE_RATE"),
        ({"SECRET_KEY": "k", "API_INVITE_RATE": "0/hour"}, "API_INVITE_RATE"),
        ({"SECRET_KEY": "k", "ADMIN_LOGIN_ATTEMPTS": "0"}, "ADMIN_LOGIN_ATTEMPTS"),
        ({"SECRET_KEY": "k", "ADMIN_LOGIN_WINDOW_SECONDS": "soon"}, "ADMIN_LOGIN_WINDOW_SECONDS"),
        ({"SECRET_KEY": "k", "CAPTURE_CONNECTION_TIMEOUT_SECONDS": "1"}, "CAPTURE_CONNECTION_TIMEOUT_SECONDS"),
        ({"SECRET_KEY": "k", "BEHIND_TLS_PROXY": "1", "HSTS_SECONDS": "-1"}, "HSTS_SECONDS"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(environment, named):
    result = load_settings(**environment)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr.strip().splitlines()[-1]


def setting_values(*names: str, **environment: str) -> list[str]:
    """The settings' values, as printed by a fresh interpreter with these variables set."""
    env = {"PATH": os.environ["PATH"], "DATA_DIR": "/tmp/reactionsite-settings-test", "SECRET_KEY": "k", **environment}
    code = "import reactionsite.settings as s; " + "; ".join(f"print(getattr(s, {name!r}, None))" for name in names)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.split("\n")[: len(names)]


def test_behind_the_tls_proxy_browsers_are_told_to_keep_to_https():
    assert setting_values("SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE", BEHIND_TLS_PROXY="1") == ["31536000", "True"]
    assert setting_values("SECURE_HSTS_SECONDS", BEHIND_TLS_PROXY="1", HSTS_SECONDS="600") == ["600"]
    assert setting_values("SECURE_HSTS_SECONDS") == ["None"]


def test_the_api_rates_come_from_the_environment():
    [rest_framework] = setting_values("REST_FRAMEWORK", API_RATE="50/second")
    assert "'organizer': '50/second', 'invites': '30/hour'" in rest_framework


def test_debug_without_a_key_starts_with_a_development_key():
    result = load_settings(DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "True"


def test_the_serving_configuration_is_built_once_by_the_settings():
    env = {"PATH": os.environ["PATH"], "DATA_DIR": "/tmp/reactionsite-settings-test", "SECRET_KEY": "k"}
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "from inference.config import serving_config; "
        "print(serving_config() is settings.SERVING, settings.SERVING.views)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "reactionsite.settings", "EMOTION_VIEWS": "2"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "2"]


def start_asgi(preload: str | None) -> str:
    """Import the ASGI application in a fresh interpreter; return what it printed when it loaded the model."""
    env = {"PATH": os.environ["PATH"], "DATA_DIR": "/tmp/reactionsite-settings-test", "SECRET_KEY": "k"}
    if preload is not None:
        env["PRELOAD_EMOTION_MODEL"] = preload
    # The model itself is replaced by a print: what counts is whether start-up asks for it.
    code = (
        "import threading; import inference.predictor as predictor; "
        "predictor.get_predictor = lambda: print('preloaded'); "
        "import reactionsite.asgi; "
        "[thread.join() for thread in threading.enumerate() if thread.name == 'load-emotion-model']"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(("preload", "loaded"), [(None, True), ("true", True), ("false", False), ("0", False)])
def test_the_asgi_server_preloads_the_model_unless_told_not_to(preload, loaded):
    assert start_asgi(preload) == ("preloaded" if loaded else "")
