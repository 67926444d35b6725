"""docker-compose.yml, the Dockerfile and .env.example, checked without a Docker engine."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.core.config import Settings
from app.core.security import check_key_config

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, Any] = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
SECRETS = {"POSTGRES_PASSWORD": "pg-secret", "TRANTIB_JWT_SIGNING_KEY": "s" * 48}

_VARIABLE = re.compile(
    r"\$(?:\$|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<op>[-?])(?P<arg>[^}]*))?\})"
)


class MissingVariable(KeyError):
    pass


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?message} and $$, for the forms used here."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match["name"], match["op"], match["arg"]
        current = env.get(name, "")
        if current:
            return current
        if op == "?":
            raise MissingVariable(f"{name}: {arg}")
        return arg if op == "-" else ""

    return _VARIABLE.sub(replace, value)


def environment_of(service: str, env: dict[str, str]) -> dict[str, str]:
    raw = SERVICES[service].get("environment", {})
    assert isinstance(raw, dict), f"{service}: environment must be a mapping"
    return {key: interpolate(str(value), env) for key, value in raw.items()}


def command_of(service: str, env: dict[str, str] | None = None) -> list[str]:
    command = SERVICES[service]["command"]
    words = shlex.split(command) if isinstance(command, str) else [str(w) for w in command]
    return [interpolate(word, env or {}) for word in words]


def healthcheck_text(service: str) -> str:
    test = SERVICES[service]["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else str(test)


def settings_fields() -> set[str]:
    return {f"TRANTIB_{name.upper()}" for name in Settings.model_fields}


def settings_from(env: dict[str, str]) -> Settings:
    """The Settings a container gets from this environment (and nothing else): an empty
    variable is an unset one."""
    values = {
        k.removeprefix("TRANTIB_").lower(): v
        for k, v in env.items()
        if k[:8] == "TRANTIB_" and v != ""
    }
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


class TestServices:
    def test_the_four_services(self) -> None:
        assert set(SERVICES) == {"postgres", "migrate", "api", "worker"}

    def test_postgres(self) -> None:
        postgres = SERVICES["postgres"]
        assert postgres["image"] == "postgres:16"
        volume = next(v.split(":")[0] for v in postgres["volumes"] if "postgresql/data" in v)
        assert volume in COMPOSE["volumes"], "the data directory must be a named volume"
        assert "pg_isready" in healthcheck_text("postgres")

    def test_migrate_runs_once_after_postgres_is_healthy(self) -> None:
        migrate = SERVICES["migrate"]
        assert command_of("migrate") == ["python", "-m", "app.cli", "migrate"]
        assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
        assert migrate.get("restart", "no") == "no"

    def test_api_waits_for_a_migrated_database(self) -> None:
        assert SERVICES["api"]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }

    def test_api_serves_with_several_workers(self) -> None:
        command = command_of("api")
        assert command[:2] == ["uvicorn", "app.main:app"]
        assert command[command.index("--host") + 1] == "0.0.0.0"
        assert int(command[command.index("--workers") + 1]) >= 2

    def test_api_healthcheck_asks_readyz(self) -> None:
        assert "/readyz" in healthcheck_text("api")
        assert "curl" not in healthcheck_text("api"), "the slim image has no curl"

    def test_worker(self) -> None:
        worker = SERVICES["worker"]
        assert command_of("worker") == ["python", "-m", "app.cli", "worker"]
        assert worker["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}

    @pytest.mark.parametrize("service", ["migrate", "api", "worker"])
    def test_app_services_share_one_image(self, service: str) -> None:
        assert SERVICES[service]["build"] == "."
        assert SERVICES[service]["image"] == SERVICES["api"]["image"]


class TestConfiguration:
    @pytest.mark.parametrize("service", ["migrate", "api", "worker"])
    def test_production_settings_pass_the_start_up_checks(self, service: str) -> None:
        env = environment_of(service, SECRETS)
        assert env["TRANTIB_ENVIRONMENT"] == "production"
        assert env["TRANTIB_SEED_DEMO"] == "false"
        assert env["TRANTIB_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert "@postgres:5432/" in env["TRANTIB_DATABASE_URL"]

        settings = settings_from(env)
        assert settings.is_production
        assert settings.production_problems() == []
        check_key_config(settings)
        assert settings.cors_origins == []

    @pytest.mark.parametrize("secret", sorted(SECRETS))
    def test_secrets_have_no_default(self, secret: str) -> None:
        missing = {k: v for k, v in SECRETS.items() if k != secret}
        with pytest.raises(MissingVariable, match=secret):
            environment_of("api", missing)
        assert re.search(r"\$\{" + secret + r":\?", COMPOSE_TEXT)

    def test_cors_origins_come_from_the_environment(self) -> None:
        env = environment_of(
            "api", {**SECRETS, "TRANTIB_CORS_ORIGINS": "https://a.example,https://b.example"}
        )
        settings = settings_from(env)
        assert settings.cors_origins == ["https://a.example", "https://b.example"]

    @pytest.mark.parametrize("service", ["migrate", "api", "worker"])
    def test_every_setting_reaches_the_containers(self, service: str) -> None:
        passed = {k for k in environment_of(service, SECRETS) if k.startswith("TRANTIB_")}
        assert passed == settings_fields(), (
            f"{service}: settings not passed: {sorted(settings_fields() - passed)}; "
            f"not settings: {sorted(passed - settings_fields())}"
        )

    def test_a_setting_from_the_shell_or_env_file_reaches_the_containers(self) -> None:
        chosen = {"TRANTIB_RATE_LIMIT_PER_MINUTE": "120", "TRANTIB_WEBHOOKS_MAX_ATTEMPTS": "5"}
        settings = settings_from(environment_of("worker", {**SECRETS, **chosen}))
        assert (settings.rate_limit_per_minute, settings.webhooks_max_attempts) == (120, 5)
        # Unchosen, the variable is empty: the service's default holds (tests/test_settings.py).
        assert environment_of("worker", SECRETS)["TRANTIB_RATE_LIMIT_PER_MINUTE"] == ""

    @pytest.mark.parametrize("name", ["docker-compose.yml", ".env.example"])
    def test_every_trantib_name_is_a_setting(self, name: str) -> None:
        used = set(re.findall(r"\bTRANTIB_[A-Z0-9_]+", (ROOT / name).read_text()))
        assert used, f"{name} names no TRANTIB_* variable"
        assert used <= settings_fields(), f"not settings: {sorted(used - settings_fields())}"


PEM_KEYS: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.pem-keys.yml").read_text())


def _pem_pair() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


class TestPemKeysAsSecrets:
    """docker-compose.pem-keys.yml: RS/ES keys as Docker secrets, read by the *_FILE settings."""

    @pytest.mark.parametrize("service", ["migrate", "api", "worker"])
    def test_each_app_service_reads_both_keys_from_its_secrets(
        self, service: str, tmp_path: Path
    ) -> None:
        override = PEM_KEYS["services"][service]
        assert set(override["secrets"]) == {"jwt_private_key", "jwt_public_key"}
        assert set(PEM_KEYS["secrets"]) == {"jwt_private_key", "jwt_public_key"}
        private, public = _pem_pair()
        files = {"jwt_private_key": private, "jwt_public_key": public}
        for name, text in files.items():
            (tmp_path / name).write_text(text)
        env = {**SECRETS, "TRANTIB_JWT_ALGORITHM": "ES256"}
        merged = environment_of(service, env)
        for key, value in override["environment"].items():
            # Compose mounts each secret at /run/secrets/<name>; here, the test's own files.
            merged[key] = interpolate(str(value), env).replace("/run/secrets", str(tmp_path))
        settings = settings_from(merged)
        assert (settings.jwt_private_key, settings.jwt_public_key) == (private, public)
        check_key_config(settings)

    def test_the_algorithm_must_be_chosen(self) -> None:
        value = PEM_KEYS["services"]["api"]["environment"]["TRANTIB_JWT_ALGORITHM"]
        with pytest.raises(MissingVariable, match="TRANTIB_JWT_ALGORITHM"):
            interpolate(value, {})

    def test_the_key_files_stay_out_of_git_and_the_image(self) -> None:
        assert "secrets/" in (ROOT / ".gitignore").read_text().splitlines()
        assert "!secrets" not in (ROOT / ".dockerignore").read_text()


def test_the_readme_says_compose_v2_is_needed() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Running with docker compose") :]
    assert "Compose v2" in section and "docker compose" in section
    assert "docker-compose.pem-keys.yml" in section


class TestDockerfile:
    def test_slim_python_311_base(self) -> None:
        assert re.search(r"^FROM python:3\.11-slim\b", DOCKERFILE, re.M)

    def test_runs_as_a_non_root_user(self) -> None:
        users = re.findall(r"^USER\s+(\S+)", DOCKERFILE, re.M)
        assert users, "no USER instruction: the container would run as root"
        assert users[-1].split(":")[0] not in {"root", "0"}

    def test_installs_runtime_dependencies_only(self) -> None:
        installs = [line for line in DOCKERFILE.splitlines() if "pip install" in line]
        assert installs
        assert not any("[dev]" in line or "-e " in line for line in installs)
        assert "optional-dependencies" not in DOCKERFILE
        project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
        runtime = {re.split(r"[<>=\[ ;]", d)[0].lower() for d in project["dependencies"]}
        tools = {"pytest", "ruff", "mypy", "hypothesis", "time-machine", "playwright"}
        assert not runtime & tools, f"test or lint tools in the image: {sorted(runtime & tools)}"
        assert not any(name.startswith(("types-", "pytest-")) for name in runtime)

    def test_installs_the_locked_releases_with_their_hashes(self) -> None:
        installs = [line for line in DOCKERFILE.splitlines() if "pip install" in line]
        assert "RUN pip install --require-hashes -r requirements.lock" in installs
        assert installs[-1].startswith("RUN pip install --no-deps .")

    def test_serves_with_two_workers_and_probes_readyz(self) -> None:
        cmd = re.search(r"^CMD\s+(\[.*\])\s*$", DOCKERFILE, re.M)
        assert cmd
        words = yaml.safe_load(cmd.group(1))
        assert words[:2] == ["uvicorn", "app.main:app"]
        assert words[words.index("--host") + 1] == "0.0.0.0"
        assert words[words.index("--port") + 1] == "8000"
        assert words[words.index("--workers") + 1] == "2"
        healthcheck = re.search(r"^HEALTHCHECK\b.*?(?=^\S)", DOCKERFILE, re.M | re.S)
        assert (
            healthcheck and "/readyz" in healthcheck.group(0) and "python" in healthcheck.group(0)
        )

    def test_copies_only_what_dockerignore_lets_through(self) -> None:
        allowed = {
            line[1:].rstrip("/")
            for line in (ROOT / ".dockerignore").read_text().splitlines()
            if line.startswith("!")
        }
        for sources in re.findall(r"^COPY\s+(.+?)\s+\S+\s*$", DOCKERFILE, re.M):
            for source in sources.split():
                assert source.rstrip("/") in allowed, f"COPY {source} is excluded by .dockerignore"
        for needed in ("app", "migrations", "alembic.ini", "pyproject.toml"):
            assert needed in allowed
        assert ".env" not in allowed
