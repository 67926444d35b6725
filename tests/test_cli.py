"""The `trantib` command line, run in-process against the test database (and as a process)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, delete, func, text
from sqlmodel import Session, select

from app import cli
from app.core.config import get_settings
from app.users.models import User
from tests.conftest import service_environment

ROOT = Path(__file__).resolve().parents[1]
DEMO_USERS = 2 + 13 * 7


def count_users(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(User)).one()


def log_in(client, username: str, password: str):  # type: ignore[no-untyped-def]
    form = {"grant_type": "password", "username": username, "password": password}
    return client.post("/api/v1/auth/token", data=form)


def run_process(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=service_environment(TRANTIB_DATABASE_URL=database_url),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TRANTIB_ENVIRONMENT", "production")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for name in ("migrate", "seed-demo", "create-admin", "export-openapi"):
        assert name in out


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])
    assert exit_info.value.code == 2


@pytest.mark.slow
class TestMigrate:
    def test_fresh_database_reaches_head(self, tmp_path):
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
        result = run_process("migrate", database_url=url)
        assert result.returncode == 0, result.stderr
        engine = create_engine(url)
        with engine.connect() as conn:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            units = conn.execute(text("SELECT count(*) FROM units")).scalar()
        engine.dispose()
        config = Config(str(ROOT / "alembic.ini"))
        assert revision == ScriptDirectory.from_config(config).get_current_head()
        assert units == 13

    def test_migrated_database_is_left_as_is(self, database_url, engine):
        result = run_process("migrate", database_url=database_url)
        assert result.returncode == 0, result.stderr
        assert count_users(engine) == DEMO_USERS


class TestSeedDemo:
    def test_if_empty_does_nothing_when_users_exist(self, engine, capsys):
        assert cli.main(["seed-demo", "--if-empty"]) == 0
        assert "no demo users added" in capsys.readouterr().out
        assert count_users(engine) == DEMO_USERS

    def test_refuses_to_add_demo_users_twice(self, engine, capsys):
        assert cli.main(["seed-demo"]) == 1
        assert "already exist" in capsys.readouterr().err
        assert count_users(engine) == DEMO_USERS

    @pytest.mark.parametrize("flags", [[], ["--if-empty"]])
    def test_seeds_an_empty_database(self, engine, client, capsys, flags):
        with Session(engine) as session:
            session.exec(delete(User))
            session.commit()
        assert cli.main(["seed-demo", *flags]) == 0
        assert f"added {DEMO_USERS} demo users" in capsys.readouterr().out
        assert count_users(engine) == DEMO_USERS
        password = get_settings().demo_password
        assert log_in(client, "camat.ciledug", password).status_code == 200

    def test_refuses_in_production(self, engine, production, capsys):
        with Session(engine) as session:
            session.exec(delete(User))
            session.commit()
        assert cli.main(["seed-demo", "--if-empty"]) == 1
        assert "production" in capsys.readouterr().err
        assert count_users(engine) == 0


class TestCreateAdmin:
    def test_with_password_flag(self, client, engine, capsys):
        code = cli.main(
            ["create-admin", "--username", "Root", "--full-name", "Root Admin",
             "--password", "root-password-123"]
        )  # fmt: skip
        assert code == 0
        assert "created administrator root" in capsys.readouterr().out
        response = log_in(client, "root", "root-password-123")
        assert response.status_code == 200
        assert "users:admin" in response.json()["scope"].split()
        with Session(engine) as session:
            user = session.exec(select(User).where(User.username == "root")).one()
        assert (user.role, user.unit_id, user.is_demo) == ("admin", None, False)

    def test_with_password_from_environment(self, client, monkeypatch):
        monkeypatch.setenv("TRANTIB_ADMIN_PASSWORD", "env-password-456")
        assert cli.main(["create-admin", "--username", "ops", "--full-name", "Ops"]) == 0
        assert log_in(client, "ops", "env-password-456").status_code == 200

    def test_with_password_from_the_prompt(self, client, monkeypatch):
        monkeypatch.delenv("TRANTIB_ADMIN_PASSWORD", raising=False)
        monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
        monkeypatch.setattr(cli.getpass, "getpass", lambda prompt="": "typed-password-789")
        assert cli.main(["create-admin", "--username", "typed", "--full-name", "Typed"]) == 0
        assert log_in(client, "typed", "typed-password-789").status_code == 200

    def test_prompt_mismatch_is_refused(self, engine, monkeypatch, capsys):
        monkeypatch.delenv("TRANTIB_ADMIN_PASSWORD", raising=False)
        monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
        answers = iter(["first-password-1", "second-password-2"])
        monkeypatch.setattr(cli.getpass, "getpass", lambda prompt="": next(answers))
        assert cli.main(["create-admin", "--username", "typo", "--full-name", "Typo"]) == 1
        assert "differ" in capsys.readouterr().err
        assert count_users(engine) == DEMO_USERS

    def test_no_password_without_a_terminal_is_refused(self, monkeypatch, capsys):
        monkeypatch.delenv("TRANTIB_ADMIN_PASSWORD", raising=False)
        monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
        assert cli.main(["create-admin", "--username", "x1", "--full-name", "X"]) == 1
        assert "no password" in capsys.readouterr().err

    def test_taken_username_is_refused(self, capsys):
        code = cli.main(
            ["create-admin", "--username", "admin", "--full-name", "Again",
             "--password", "another-password"]
        )  # fmt: skip
        assert code == 1
        assert "taken" in capsys.readouterr().err

    def test_short_password_is_refused(self, engine, capsys):
        code = cli.main(
            ["create-admin", "--username", "shorty", "--full-name", "S", "--password", "short"]
        )
        assert code == 1
        assert "password" in capsys.readouterr().err
        assert count_users(engine) == DEMO_USERS

    def test_works_in_production(self, client, production):
        code = cli.main(
            ["create-admin", "--username", "prod.admin", "--full-name", "Prod",
             "--password", "prod-password-000"]
        )  # fmt: skip
        assert code == 0


class TestExportOpenapi:
    def test_writes_sorted_pretty_json(self, tmp_path, capsys):
        from app.main import create_app

        target = tmp_path / "nested" / "openapi.json"
        assert cli.main(["export-openapi", str(target)]) == 0
        written = target.read_text(encoding="utf-8")
        document = create_app().openapi()
        assert written == json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        assert document["paths"]["/api/v1/auth/token"]["post"]["operationId"] == "auth_token"
        assert str(target) in capsys.readouterr().out

    def test_default_path(self, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        assert cli.main(["export-openapi"]) == 0
        assert json.loads((tmp_path / "openapi" / "openapi.json").read_text())["openapi"]


def test_console_script_runs():
    script = Path(sys.executable).parent / "trantib"
    if not script.exists():
        pytest.skip("the package is not installed with its console script")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "export-openapi" in result.stdout
