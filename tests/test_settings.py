"""Settings come from TRANTIB_* variables; production refuses unsafe ones, one line per reason."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.core.config import DEFAULT_SIGNING_KEY, Environment, Settings
from app.main import StartupRefused, check_startup

ROOT = Path(__file__).resolve().parents[1]
GOOD_KEY = "k" * 48


def _settings(**values: object) -> Settings:
    # A developer's .env must not leak into these cases.
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def _production(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "production",
        "database_url": database_url,
        "jwt_signing_key": GOOD_KEY,
        "seed_demo": False,
    }
    values.update(overrides)
    return _settings(**values)


def _drop_demo_users(engine: Engine) -> None:
    from app.users.models import User

    with Session(engine) as session:
        session.execute(delete(User).where(User.is_demo))  # type: ignore[arg-type]
        session.commit()


class TestEnvironmentVariables:
    def test_trantib_variables_are_read(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TRANTIB_ENVIRONMENT", "production")
        monkeypatch.setenv("TRANTIB_DATABASE_URL", "postgresql+psycopg://app:pw@db:5432/trantib")
        monkeypatch.setenv("TRANTIB_SEED_DEMO", "false")
        monkeypatch.setenv("TRANTIB_ACCESS_TOKEN_MINUTES", "5")
        monkeypatch.setenv("TRANTIB_DB_POOL_SIZE", "20")

        settings = _settings()

        assert settings.environment is Environment.production
        assert settings.is_production
        assert settings.database_url == "postgresql+psycopg://app:pw@db:5432/trantib"
        assert not settings.is_sqlite
        assert settings.seed_demo is False
        assert settings.access_token_minutes == 5
        assert settings.db_pool_size == 20

    def test_cors_origins_as_a_comma_list(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TRANTIB_CORS_ORIGINS", "https://a.example, https://b.example ,")
        assert _settings().cors_origins == ["https://a.example", "https://b.example"]

    def test_cors_origins_as_a_json_list(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TRANTIB_CORS_ORIGINS", '["https://a.example"]')
        assert _settings().cors_origins == ["https://a.example"]

    def test_no_cors_origins_by_default(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("TRANTIB_CORS_ORIGINS", raising=False)
        assert _settings().cors_origins == []

    def test_out_of_range_value_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TRANTIB_ACCESS_TOKEN_MINUTES", "0")
        with pytest.raises(ValidationError, match="access_token_minutes"):
            _settings()

    def test_unknown_environment_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TRANTIB_ENVIRONMENT", "staging")
        with pytest.raises(ValidationError, match="environment"):
            _settings()


class TestStartupChecks:
    def test_development_defaults_start(self, database_url: str) -> None:
        check_startup(_settings(environment="development", database_url=database_url))

    def test_production_with_safe_settings_starts(self, database_url: str, db: Engine) -> None:
        _drop_demo_users(db)
        check_startup(_production(database_url))

    @pytest.mark.parametrize(
        ("overrides", "reason"),
        [
            (
                {"jwt_signing_key": DEFAULT_SIGNING_KEY},
                "TRANTIB_JWT_SIGNING_KEY is the development default",
            ),
            ({"seed_demo": True}, "TRANTIB_SEED_DEMO must be false in production"),
            ({"jwt_signing_key": "x" * 31}, "TRANTIB_JWT_SIGNING_KEY must be at least 32 bytes"),
        ],
        ids=["default-signing-key", "seed-demo", "short-hmac-key"],
    )
    def test_production_refuses_unsafe_settings(
        self, database_url: str, db: Engine, overrides: dict[str, object], reason: str
    ) -> None:
        _drop_demo_users(db)
        with pytest.raises(StartupRefused) as refused:
            check_startup(_production(database_url, **overrides))
        message = str(refused.value)
        assert message.startswith("refusing to start in production: ")
        assert reason in message
        assert "\n" not in message

    def test_production_refuses_demo_users_in_the_database(self, database_url: str) -> None:
        # The harness seeds the demo users before every test.
        with pytest.raises(StartupRefused) as refused:
            check_startup(_production(database_url))
        message = str(refused.value)
        assert "demo users are present in the database" in message
        assert "\n" not in message

    def test_production_refuses_an_unmigrated_database(self, tmp_path: Path) -> None:
        empty = f"sqlite:///{tmp_path / 'empty.db'}"
        with pytest.raises(StartupRefused) as refused:
            check_startup(_production(empty))
        assert "database unreachable or not migrated" in str(refused.value)
        assert "\n" not in str(refused.value)

    def test_every_reason_is_given_at_once(self, database_url: str) -> None:
        with pytest.raises(StartupRefused) as refused:
            check_startup(
                _production(database_url, jwt_signing_key=DEFAULT_SIGNING_KEY, seed_demo=True)
            )
        assert "TRANTIB_JWT_SIGNING_KEY" in str(refused.value)
        assert "TRANTIB_SEED_DEMO" in str(refused.value)

    def test_short_hmac_key_is_refused_in_development_too(self, database_url: str) -> None:
        with pytest.raises(StartupRefused, match="at least 32 bytes"):
            check_startup(_settings(database_url=database_url, jwt_signing_key="short"))


def _serve(env_overrides: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRANTIB_JWT_")}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


class TestUvicornRefusal:
    """What an operator sees when the server is started with a refused configuration."""

    def test_exits_non_zero_with_the_reason_on_one_line(self, database_url: str) -> None:
        result = _serve(
            {
                "TRANTIB_DATABASE_URL": database_url,
                "TRANTIB_ENVIRONMENT": "production",
                "TRANTIB_SEED_DEMO": "false",
            }
        )
        assert result.returncode != 0
        refusals = [line for line in result.stderr.splitlines() if "refusing to start" in line]
        assert len(refusals) == 1, result.stderr
        assert "TRANTIB_JWT_SIGNING_KEY is the development default" in refusals[0]
        assert "Traceback" not in result.stderr

    def test_short_key_stops_a_development_server(self, database_url: str) -> None:
        result = _serve({"TRANTIB_DATABASE_URL": database_url, "TRANTIB_JWT_SIGNING_KEY": "short"})
        assert result.returncode != 0
        assert "refusing to start: TRANTIB_JWT_SIGNING_KEY must be at least 32" in result.stderr
        assert "Traceback" not in result.stderr
