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

from app.core.config import Environment, Settings, SettingsInvalid, get_settings
from app.main import StartupRefused, check_startup, startup_problems
from tests.conftest import service_environment

ROOT = Path(__file__).resolve().parents[1]
GOOD_KEY = "k" * 48
PUBLISHED_KEY = "change-me-development-signing-key-32b"


def _settings(**values: object) -> Settings:
    # A developer's .env must not leak into these cases.
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def _production(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "production",
        "database_url": database_url,
        "jwt_signing_key": GOOD_KEY,
        "seed_demo": False,
        "public_base_url": "https://trantib.tangerangkota.go.id",
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

    def test_an_empty_variable_keeps_the_default(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # Compose passes every setting, `${TRANTIB_X:-}` where none is chosen.
        for name in ("DB_POOL_SIZE", "SOP_VERSION", "SOP_DEFINITIONS_DIR", "JWT_PRIVATE_KEY"):
            monkeypatch.setenv(f"TRANTIB_{name}", "")
        settings = _settings()
        assert settings.db_pool_size == Settings.model_fields["db_pool_size"].default
        assert settings.sop_version is None and settings.sop_definitions_dir is None
        assert settings.jwt_private_key is None

    def test_pem_keys_are_read_from_their_files(self, tmp_path: Path) -> None:
        (tmp_path / "private.pem").write_text("PRIVATE PEM\n")
        (tmp_path / "public.pem").write_text("PUBLIC PEM\n")
        settings = _settings(
            jwt_private_key_file=tmp_path / "private.pem",
            jwt_public_key_file=tmp_path / "public.pem",
        )
        assert (settings.jwt_private_key, settings.jwt_public_key) == (
            "PRIVATE PEM\n",
            "PUBLIC PEM\n",
        )

    def test_a_key_given_twice_or_unreadable_is_one_line_naming_it(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        (tmp_path / "private.pem").write_text("PRIVATE PEM SECRET\n")
        monkeypatch.setenv("TRANTIB_JWT_PRIVATE_KEY", "THE OTHER SECRET")
        monkeypatch.setenv("TRANTIB_JWT_PRIVATE_KEY_FILE", str(tmp_path / "private.pem"))
        # Uncached: the suite's own settings stay as they are.
        load = get_settings.__wrapped__
        with pytest.raises(SettingsInvalid) as twice:
            load()
        monkeypatch.delenv("TRANTIB_JWT_PRIVATE_KEY")
        monkeypatch.setenv("TRANTIB_JWT_PUBLIC_KEY_FILE", str(tmp_path / "missing.pem"))
        with pytest.raises(SettingsInvalid) as unreadable:
            load()
        assert str(twice.value) == (
            "invalid settings: set TRANTIB_JWT_PRIVATE_KEY or TRANTIB_JWT_PRIVATE_KEY_FILE, "
            "not both"
        )
        assert "SECRET" not in str(twice.value)
        assert str(unreadable.value).startswith("invalid settings: TRANTIB_JWT_PUBLIC_KEY_FILE:")
        assert "\n" not in str(unreadable.value) and "SECRET" not in str(unreadable.value)

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


class TestDevelopmentSigningKey:
    """Unset in development, the key is made at random once per checkout, never a default."""

    @pytest.fixture
    def checkout(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        monkeypatch.chdir(tmp_path)
        monkeypatch.delenv("TRANTIB_JWT_SIGNING_KEY")
        return tmp_path

    def test_made_on_first_start_kept_private_and_shared(self, checkout: Path) -> None:
        first = _settings().jwt_signing_key
        key_file = checkout / "var" / "jwt-signing-key"
        assert first is not None and len(first.encode()) >= 32
        assert key_file.read_text().strip() == first
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert _settings().jwt_signing_key == first
        assert [p.name for p in key_file.parent.iterdir()] == ["jwt-signing-key"]

    def test_each_checkout_gets_its_own(
        self, checkout: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        first = _settings().jwt_signing_key
        other = checkout / "other"
        other.mkdir()
        monkeypatch.chdir(other)
        assert _settings().jwt_signing_key != first

    def test_production_makes_none(self, checkout: Path) -> None:
        settings = _settings(
            environment="production",
            seed_demo=False,
            public_base_url="https://trantib.tangerangkota.go.id",
        )
        assert settings.jwt_signing_key is None
        assert not (checkout / "var").exists()
        assert startup_problems(settings) == [
            "TRANTIB_JWT_SIGNING_KEY is not set; set a random key of 32+ bytes"
        ]


class TestStartupChecks:
    def test_development_defaults_start(self, database_url: str) -> None:
        settings = _settings(environment="development", database_url=database_url)
        assert startup_problems(settings) == []
        check_startup(settings)

    def test_production_with_safe_settings_starts(self, database_url: str, db: Engine) -> None:
        _drop_demo_users(db)
        settings = _production(database_url)
        assert startup_problems(settings) == []
        check_startup(settings)

    def test_the_once_published_default_key_is_refused_in_development(
        self, database_url: str
    ) -> None:
        with pytest.raises(StartupRefused, match="published example key"):
            check_startup(_settings(database_url=database_url, jwt_signing_key=PUBLISHED_KEY))

    @pytest.mark.parametrize(
        ("overrides", "reason"),
        [
            ({"jwt_signing_key": None}, "TRANTIB_JWT_SIGNING_KEY is not set"),
            ({"jwt_signing_key": PUBLISHED_KEY}, "TRANTIB_JWT_SIGNING_KEY is a published"),
            ({"seed_demo": True}, "TRANTIB_SEED_DEMO must be false in production"),
            ({"jwt_signing_key": "x" * 31}, "TRANTIB_JWT_SIGNING_KEY must be at least 32 bytes"),
            ({"public_base_url": None}, "TRANTIB_PUBLIC_BASE_URL is not set"),
        ],
        ids=[
            "no-signing-key",
            "published-signing-key",
            "seed-demo",
            "short-hmac-key",
            "no-public-base-url",
        ],
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
            check_startup(_production(database_url, jwt_signing_key=None, seed_demo=True))
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


@pytest.mark.slow
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
        assert "TRANTIB_JWT_SIGNING_KEY is not set" in refusals[0]
        assert "Traceback" not in result.stderr

    def test_short_key_stops_a_development_server(self, database_url: str) -> None:
        result = _serve({"TRANTIB_DATABASE_URL": database_url, "TRANTIB_JWT_SIGNING_KEY": "short"})
        assert result.returncode != 0
        assert "refusing to start: TRANTIB_JWT_SIGNING_KEY must be at least 32" in result.stderr
        assert "Traceback" not in result.stderr


HOSTILE_ENV_FILE = (
    "TRANTIB_ENVIRONMENT=production\n"
    "TRANTIB_JWT_SIGNING_KEY=hostile-key-from-a-developers-env-file\n"
    "TRANTIB_CORS_ORIGINS=https://hostile.example\n"
)
HOSTILE_VARIABLES = {
    "TRANTIB_ENVIRONMENT": "production",
    "TRANTIB_CORS_ORIGINS": "https://hostile.example",
    "TRANTIB_RATE_LIMIT_PER_MINUTE": "5",
}
_PRINT_SETTINGS = (
    "from app.core.config import Settings; s = Settings(); "
    "print(s.environment.value, s.jwt_signing_key, s.cors_origins)"
)


def _settings_seen_in(cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _PRINT_SETTINGS],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


@pytest.mark.slow
class TestTheSuiteIsHermetic:
    """A developer's .env file and TRANTIB_* variables do not reach the tests."""

    @pytest.fixture
    def hostile_checkout(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        (tmp_path / ".env").write_text(HOSTILE_ENV_FILE, encoding="utf-8")
        monkeypatch.chdir(tmp_path)
        return tmp_path

    def test_the_suite_has_its_own_settings(self) -> None:
        settings = get_settings()
        assert settings.environment is Environment.development
        assert settings.cors_origins == []
        assert settings.rate_limit_per_minute == 0
        assert settings.sop_definitions_dir == ROOT / "tests" / "fixtures" / "sop"

    def test_an_env_file_in_the_working_directory_is_not_read(self, hostile_checkout: Path) -> None:
        settings = Settings()
        assert settings.environment is Environment.development
        assert settings.jwt_signing_key == os.environ["TRANTIB_JWT_SIGNING_KEY"]
        assert settings.cors_origins == []

    def test_service_processes_of_the_suite_do_not_read_it_either(
        self, hostile_checkout: Path
    ) -> None:
        seen = _settings_seen_in(hostile_checkout, service_environment())
        assert "hostile" not in seen
        assert seen.startswith("development ")

    def test_outside_the_suite_the_env_file_is_read(self, hostile_checkout: Path) -> None:
        # What `make run` does: the same file counts when TRANTIB_ENV_FILE is not set.
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRANTIB_")}
        seen = _settings_seen_in(hostile_checkout, env)
        assert seen.split()[:2] == ["production", "hostile-key-from-a-developers-env-file"]

    def test_trantib_variables_of_the_caller_do_not_reach_a_run(self, tmp_path: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
        env.update(HOSTILE_VARIABLES)
        node = f"{Path(__file__).name}::{type(self).__name__}::test_the_suite_has_its_own_settings"
        done = subprocess.run(
            [sys.executable, "-m", "pytest", f"tests/{node}"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "1 passed" in done.stdout


SECRET = "Sup3r-secret-value-that-must-never-be-printed-0123456789"
SECRET_SETTINGS = {
    "TRANTIB_JWT_SIGNING_KEY": SECRET,
    "TRANTIB_JWT_PRIVATE_KEY": f"-----BEGIN PRIVATE KEY-----\n{SECRET}\n-----END PRIVATE KEY-----",
    "TRANTIB_JWT_PUBLIC_KEY": f"-----BEGIN PUBLIC KEY-----\n{SECRET}\n-----END PUBLIC KEY-----",
    "TRANTIB_DEMO_PASSWORD": SECRET,
    "TRANTIB_DATABASE_URL": f"postgresql+psycopg://trantib:{SECRET}@127.0.0.1:9/trantib",
}
# A rule of one setting, and the rule across the pool and the requests in progress (the
# one compose met), whose pydantic message held every input.
BROKEN = {
    "field": ({"TRANTIB_DB_POOL_SIZE": "0"}, "TRANTIB_DB_POOL_SIZE: Input should be greater"),
    "pool": (
        {"TRANTIB_DB_POOL_SIZE": "2", "TRANTIB_DB_MAX_OVERFLOW": "1"},
        "TRANTIB_MAX_REQUESTS_IN_PROGRESS (8) must not exceed TRANTIB_DB_POOL_SIZE",
    ),
}
PROGRAMS = {
    "uvicorn": (
        ["-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", "0"],
        "refusing to start: invalid settings: ",
    ),
    "cli": (["-m", "app.cli", "migrate"], "error: invalid settings: "),
}


@pytest.mark.slow
class TestInvalidSettingsAreOneLine:
    """A settings error names the setting and the rule on one line, and no secret's value."""

    # Both rules under the server, the cross rule under the command line too.
    @pytest.mark.parametrize(
        ("broken", "program"), [("field", "uvicorn"), ("pool", "uvicorn"), ("pool", "cli")]
    )
    @pytest.mark.parametrize("secret", list(SECRET_SETTINGS))
    def test_names_the_rule_and_hides_the_secret(
        self, secret: str, broken: str, program: str
    ) -> None:
        variables, rule = BROKEN[broken]
        argv, prefix = PROGRAMS[program]
        done = subprocess.run(
            [sys.executable, *argv],
            cwd=ROOT,
            env=service_environment(**variables, **{secret: SECRET_SETTINGS[secret]}),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1
        output = done.stdout + done.stderr
        assert output.strip().splitlines() == [done.stderr.strip()], output
        assert done.stderr.startswith(prefix + rule), output
        assert SECRET[:8] not in output
        assert "Traceback" not in output
