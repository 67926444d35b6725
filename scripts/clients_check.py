"""Generate the three clients of openapi/openapi.json and drive a running service with each.

    python -m scripts.clients_check       (make clients-check; CI runs it)

Generates a Python client (openapi-python-client), TypeScript types for openapi-fetch
(openapi-typescript) and a typescript-fetch client (OpenAPI Generator) into
openapi/examples/build/, counts the generators' warnings (any not listed in
openapi/generator-warnings.txt fails the check), type-checks each driver of
openapi/examples/clients/ (mypy --strict, tsc --noEmit), then starts the service on a
throwaway SQLite database with the demo users and runs each driver against it. The drivers
download an attachment: one incident is taken to the field reports first, with one PDF
uploaded, and its id passed as TRANTIB_ATTACHMENT_ID.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench import servers  # noqa: E402
from bench.lifecycle import (  # noqa: E402
    API,
    EQUIPMENT,
    MEMBERS,
    ORDER_DRAFT,
    field_report,
    incident_body,
    walikota_order,
)

CONTRACT = ROOT / "openapi" / "openapi.json"
EXAMPLES = ROOT / "openapi" / "examples"
BUILD = EXAMPLES / "build"
TOOLS = BUILD / "tools" / "bin"
DRIVERS = EXAMPLES / "clients"
ALLOWED_WARNINGS = ROOT / "openapi" / "generator-warnings.txt"
SLUG = "ciledug"
# The smallest file the attachment check accepts as a PDF (it reads the first bytes).
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def run(argv: Sequence[str | Path], *, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    """Run a command, return its output (stdout and stderr); exit with it when it fails."""
    started = time.monotonic()
    done = subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    print(
        f"  {Path(str(argv[0])).name} {' '.join(str(a) for a in argv[1:3])}… "
        f"{time.monotonic() - started:.1f} s"
    )
    if done.returncode != 0:
        print(done.stdout)
        raise SystemExit(f"{argv[0]} exited {done.returncode}")
    return done.stdout


def warnings_of(generator: str, output: str) -> list[str]:
    """The warnings a generator printed, one line each."""
    if generator == "openapi-python-client":
        # A warning is a block: its header line, then details.
        return [line for line in output.splitlines() if line.startswith(("WARNING", "ERROR"))]
    if generator == "openapi-generator":
        return [line for line in output.splitlines() if re.search(r"\b(WARN|ERROR)\b", line)]
    return [line for line in output.splitlines() if re.search(r"warn|error|⚠|✘", line, re.I)]


def allowed_warnings() -> list[tuple[str, re.Pattern[str]]]:
    """`generator: pattern  # why`: the warnings that cannot be fixed in the contract."""
    allowed = []
    for line in ALLOWED_WARNINGS.read_text().splitlines():
        rule = line.split("#", 1)[0].strip()
        if rule:
            generator, _, pattern = rule.partition(":")
            allowed.append((generator.strip(), re.compile(pattern.strip())))
    return allowed


def generate() -> int:
    """Generate the three clients; the number of warnings no entry of the list explains."""
    BUILD.mkdir(parents=True, exist_ok=True)
    tools_path = {**os.environ, "PATH": f"{TOOLS}{os.pathsep}{os.environ['PATH']}"}
    outputs = {
        "openapi-python-client": run(
            [
                TOOLS / "openapi-python-client",
                "generate",
                "--path",
                CONTRACT,
                "--config",
                ROOT / "openapi" / "openapi-python-client.yaml",
                "--output-path",
                BUILD / "python",
                "--overwrite",
            ],
            env=tools_path,
        ),
        "openapi-typescript": run(
            [
                "npx",
                "--no-install",
                "openapi-typescript",
                CONTRACT,
                *OPENAPI_TYPESCRIPT_FLAGS,
                "-o",
                BUILD / "openapi-fetch" / "schema.d.ts",
            ],
            cwd=EXAMPLES,
        ),
        "openapi-generator": run(
            [
                TOOLS / "openapi-generator-cli",
                "generate",
                "-i",
                CONTRACT,
                "-g",
                "typescript-fetch",
                "-o",
                BUILD / "typescript-fetch",
                "-c",
                ROOT / "openapi" / "openapi-generator-typescript-fetch.yaml",
            ],
        ),
    }
    allowed = allowed_warnings()
    unexplained = 0
    for generator, output in outputs.items():
        found = warnings_of(generator, output)
        explained = [w for w in found if any(g == generator and p.search(w) for g, p in allowed)]
        print(f"{generator}: {len(found)} warnings, {len(explained)} of them listed")
        for warning in found:
            if warning not in explained:
                unexplained += 1
                print(f"  not listed: {warning}")
    return unexplained


# The README's command: request fields with a default stay optional.
OPENAPI_TYPESCRIPT_FLAGS = ["--default-non-nullable", "false"]


def typecheck() -> None:
    run(
        [
            TOOLS / "mypy",
            "--strict",
            "--cache-dir",
            BUILD / "mypy-cache",
            DRIVERS / "python" / "driver.py",
        ],
        env={**os.environ, "MYPYPATH": str(BUILD / "python")},
    )
    run(["npx", "--no-install", "tsc", "--noEmit", "-p", DRIVERS / "tsconfig.json"], cwd=EXAMPLES)


def attachment_fixture(base: str, password: str) -> str:
    """Take one incident of Ciledug to its field reports, upload a PDF; the attachment's id."""
    with httpx.Client(base_url=base + API, timeout=30) as http:
        headers: dict[str, dict[str, str]] = {}
        ids: dict[str, str] = {}
        for who in ("kasi", "camat", "sekcam", "danru", *MEMBERS):
            form = {"grant_type": "password", "username": f"{who}.{SLUG}", "password": password}
            token = http.post("/auth/token", data=form).raise_for_status().json()["access_token"]
            headers[who] = {"Authorization": f"Bearer {token}"}
            ids[who] = http.get("/users/me", headers=headers[who]).json()["id"]

        def post(who: str, path: str, body: Any = None, **kwargs: Any) -> dict[str, Any]:
            answer = http.post(path, json=body, headers=headers[who], **kwargs)
            if answer.status_code >= 400:
                raise SystemExit(f"fixture: {path} {answer.status_code} {answer.text}")
            result: dict[str, Any] = answer.json()
            return result

        incident = post("kasi", "/incidents", incident_body(SLUG, "Unjuk rasa (lampiran)"))
        at = f"/incidents/{incident['id']}"
        post("camat", f"{at}/orders", walikota_order(f"WK/{incident['register_number']}"))
        post("kasi", f"{at}/instructions", {"danru_id": ids["danru"]})
        draft = post("danru", f"{at}/drafts", ORDER_DRAFT)["id"]
        post("danru", f"/drafts/{draft}/submit")
        for who in ("kasi", "sekcam", "camat"):
            post(who, f"/drafts/{draft}/verifications", {"decision": "approve"})
        order = post("camat", f"{at}/orders", {"kind": "surat_perintah", "draft_id": draft})
        post("kasi", f"/orders/{order['id']}/dispatch", {"danru_id": ids["danru"]})
        members = [ids[m] for m in MEMBERS]
        post("danru", f"{at}/briefings", {"members": members, "equipment": EQUIPMENT})
        report = post(MEMBERS[0], f"{at}/field-reports", field_report())
        files = {"file": ("foto.pdf", PDF, "application/pdf")}
        answer = http.post(
            f"/field-reports/{report['id']}/attachments", files=files, headers=headers[MEMBERS[0]]
        )
        if answer.status_code != 201:
            raise SystemExit(f"fixture: attachment {answer.status_code} {answer.text}")
        attachment_id: str = answer.json()["id"]
        return attachment_id


def drive() -> None:
    with tempfile.TemporaryDirectory(prefix="trantib-clients-") as scratch:
        env = servers.service_env(f"sqlite:///{scratch}/service.db")
        servers.cli(env, "migrate")
        servers.cli(env, "seed-demo")
        api = servers.Api(env, Path(scratch) / "uvicorn.log", workers=1)
        api.start()
        try:
            attachment = attachment_fixture(api.base, servers.DEMO_PASSWORD)
            driver_env = {
                **os.environ,
                "TRANTIB_URL": api.base,
                "TRANTIB_DEMO_PASSWORD": servers.DEMO_PASSWORD,
                "TRANTIB_ATTACHMENT_ID": attachment,
            }
            python_env = {**driver_env, "PYTHONPATH": str(BUILD / "python")}
            tsx = ["npx", "--no-install", "tsx"]
            for name, argv, cwd, env in (
                ("python", [TOOLS / "python", DRIVERS / "python" / "driver.py"], ROOT, python_env),
                (
                    "openapi-fetch",
                    [*tsx, DRIVERS / "openapi-fetch" / "driver.ts"],
                    EXAMPLES,
                    driver_env,
                ),
                (
                    "typescript-fetch",
                    [*tsx, DRIVERS / "typescript-fetch" / "driver.ts"],
                    EXAMPLES,
                    driver_env,
                ),
            ):
                print(f"== driver: {name}")
                print(run(argv, cwd=cwd, env=env), end="")
        finally:
            api.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.parse_args()
    started = time.monotonic()
    unexplained = generate()
    typecheck()
    drive()
    print(f"clients-check: {time.monotonic() - started:.0f} s, {unexplained} unlisted warnings")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
