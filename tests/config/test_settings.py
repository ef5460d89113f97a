"""Settings come from the environment and fail loudly on a bad value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import EnvReader

PROJECT = Path(__file__).resolve().parents[2]


def manage(*args: str, **environ: str) -> subprocess.CompletedProcess[str]:
    """Run manage.py in a fresh process with only the given settings variables
    (and no `.env` file, which a developer's `make run` may have written)."""
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "VIRTUAL_ENV"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env={
            **keep,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "ENV_FILE": os.devnull,
            **environ,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_booleans_accept_the_usual_spellings() -> None:
    reader = EnvReader({"A": "yes", "B": "0", "C": " TRUE "})
    assert reader.boolean("A") is True
    assert reader.boolean("B") is False
    assert reader.boolean("C") is True
    assert reader.boolean("MISSING", default=True) is True


def test_a_bad_boolean_names_the_variable_and_value() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"DEBUG='maybe' is not a boolean"):
        EnvReader({"DEBUG": "maybe"}).boolean("DEBUG")


def test_integers_are_checked_for_form_and_minimum() -> None:
    assert EnvReader({"N": "42"}).integer("N", default=1) == 42
    with pytest.raises(ImproperlyConfigured, match=r"N='4x' is not a whole number"):
        EnvReader({"N": "4x"}).integer("N", default=1)
    with pytest.raises(ImproperlyConfigured, match=r"N='-1' must be at least 0"):
        EnvReader({"N": "-1"}).integer("N", default=1, minimum=0)


def test_lists_split_on_commas_and_drop_blanks() -> None:
    assert EnvReader({"H": "a.example, b.example,,"}).strings("H") == ["a.example", "b.example"]
    assert EnvReader({}).strings("H", default=["x"]) == ["x"]


def test_urls_must_use_a_known_scheme() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"DATABASE_URL='mysql://db/x' must be a URL"):
        EnvReader({"DATABASE_URL": "mysql://db/x"}).url(
            "DATABASE_URL", schemes=("sqlite", "postgres")
        )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG='maybe' is not a boolean"),
        ("DATABASE_URL", "mysql://localhost/engage", "DATABASE_URL='mysql://localhost/engage'"),
        ("CELERY_BROKER_URL", "localhost:6379", "CELERY_BROKER_URL='localhost:6379'"),
        ("STATEMENT_TIMEOUT_MS", "soon", "STATEMENT_TIMEOUT_MS='soon' is not a whole number"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL='LOUD' is not one of"),
        ("SCORES_ROLLUP_STALE_SECONDS", "0", "SCORES_ROLLUP_STALE_SECONDS='0' must be at least 1"),
    ],
)
def test_a_bad_value_fails_start_up_naming_the_variable(
    variable: str, value: str, message: str
) -> None:
    result = manage("check", **{"DEBUG": "1", variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = manage("check", DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_deploy_check_is_clean_under_production_settings() -> None:
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY="k2%Lq9#vT4@zR8!mW6^pY3&nB7*cX5$dF1(gH0)jSa8Ue2Wr5Ot",
        ALLOWED_HOSTS="engage.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_command_reads_its_secret_key_from_the_project_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("# written by make run\nSECRET_KEY=from-the-file-" + "x" * 40 + "\n")
    result = manage(
        "shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)",
        DEBUG="0", ENV_FILE=str(env_file),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "from-the-file-" + "x" * 40


def test_the_environment_wins_over_the_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("SECRET_KEY=from-the-file\nLOG_LEVEL=DEBUG\n")
    result = manage(
        "shell", "-c",
        "from django.conf import settings; print(settings.SECRET_KEY, settings.DEBUG)",
        DEBUG="0", SECRET_KEY="from-the-environment", ENV_FILE=str(env_file),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "from-the-environment False"
