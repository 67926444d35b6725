"""Command line: `trantib <command>` or `python -m app.cli <command>`.

A command is one function decorated with `@command(...)`; it gets the parsed arguments and
returns the exit status. Raise CommandError for a refusal the operator should read.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OPENAPI_PATH = Path("openapi/openapi.json")

Handler = Callable[[argparse.Namespace], int]


class CommandError(Exception):
    """A refusal: printed as one line on stderr, exit status 1."""


@dataclass(frozen=True)
class Argument:
    flags: tuple[str, ...]
    options: dict[str, Any]


def arg(*flags: str, **options: Any) -> Argument:
    """An argparse argument of a command, as `add_argument(*flags, **options)` takes it."""
    return Argument(flags, options)


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    run: Handler
    arguments: tuple[Argument, ...]


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, *arguments: Argument) -> Callable[[Handler], Handler]:
    """Register a subcommand."""

    def register(run: Handler) -> Handler:
        COMMANDS[name] = Command(name, help, run, arguments)
        return run

    return register


# Imports of the application happen inside the commands: `trantib --help` stays fast and
# works without a database or valid settings.


@command("migrate", "Upgrade the database schema to the latest revision (alembic upgrade head)")
def migrate(_args: argparse.Namespace) -> int:
    from alembic import command as alembic_command
    from alembic.config import Config

    from app.core.config import get_settings

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["url"] = get_settings().database_url
    alembic_command.upgrade(config, "head")
    print("database is at the latest revision")
    return 0


@command(
    "seed-demo",
    "Add the demo users of every kecamatan (password: TRANTIB_DEMO_PASSWORD); not in production",
    arg("--if-empty", action="store_true", help="do nothing when any user exists"),
)
def seed_demo(args: argparse.Namespace) -> int:
    from sqlalchemy import func
    from sqlmodel import Session, col, select

    from app.core.config import get_settings
    from app.core.db import get_engine
    from app.units.models import Unit
    from app.users import demo
    from app.users.models import User

    settings = get_settings()
    if settings.is_production:
        raise CommandError("seed-demo refuses to run in production")
    with Session(get_engine()) as session:
        if args.if_empty and session.exec(select(func.count()).select_from(User)).one():
            print("users exist; no demo users added")
            return 0
        units = list(session.exec(select(Unit).order_by(col(Unit.id))))
        names = [d.username for d in demo.demo_users(units)]
        present = session.exec(select(User.username).where(col(User.username).in_(names))).all()
        if present:
            raise CommandError(
                f"{len(present)} demo usernames already exist (e.g. {sorted(present)[0]}); "
                "use --if-empty to skip quietly"
            )
        added = demo.seed_demo(session, settings.demo_password)
        session.commit()
    print(f"added {added} demo users")
    return 0


def _admin_password(given: str | None) -> str:
    if given:
        return given
    from_env = os.environ.get("TRANTIB_ADMIN_PASSWORD")
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        raise CommandError(
            "no password: pass --password, set TRANTIB_ADMIN_PASSWORD or run in a terminal"
        )
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise CommandError("the passwords differ")
    return first


@command(
    "create-admin",
    "Create an administrator account",
    arg("--username", required=True),
    arg("--full-name", required=True),
    arg(
        "--password",
        help="visible to other local users; prefer TRANTIB_ADMIN_PASSWORD or the prompt",
    ),
)
def create_admin(args: argparse.Namespace) -> int:
    from pydantic import ValidationError
    from sqlmodel import Session

    from app.auth.roles import Role
    from app.core.db import get_engine
    from app.core.errors import AppError
    from app.users import service
    from app.users.schemas import UserCreate

    password = _admin_password(args.password)
    try:
        data = UserCreate(
            username=args.username, full_name=args.full_name, role=Role.admin, password=password
        )
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise CommandError(reasons) from exc
    with Session(get_engine()) as session:
        try:
            user = service.create_user(session, data)
        except AppError as exc:
            raise CommandError(exc.detail) from exc
        session.commit()
        print(f"created administrator {user.username} ({user.id})")
    return 0


@command(
    "export-openapi",
    "Write the OpenAPI document as sorted, indented JSON",
    arg("path", nargs="?", type=Path, default=DEFAULT_OPENAPI_PATH, help="default: %(default)s"),
)
def export_openapi(args: argparse.Namespace) -> int:
    from app.core.config import Environment, get_settings
    from app.main import create_app

    # The committed contract is the development one whatever the exporter's own settings, so
    # that every machine writes the same file (the demo users' paragraph included).
    development = {"environment": Environment.development, "seed_demo": True}
    document = create_app(get_settings().model_copy(update=development)).openapi()
    path: Path = args.path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"wrote {path}")
    return 0


def _step_table(definition: Any) -> str:
    rows = [("no", "code", "pelaksana", "stages", "waktu", "calendar", "completes with", "returns")]
    for step in definition.steps:
        rows.append(
            (
                str(step.number),
                step.code,
                ", ".join(step.actors),
                " > ".join(step.stages),
                step.waktu,
                step.calendar,
                ", ".join(step.completes_with),
                "" if step.correction_returns_to is None else str(step.correction_returns_to),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


@command(
    "sop-check",
    "Check SOP definition files and print their step tables (default: every file the "
    "service would load, with the active version marked)",
    arg("files", nargs="*", type=Path, help="definition files (TOML) to check"),
)
def sop_check(args: argparse.Namespace) -> int:
    from app.sop.definition import DefinitionError, parse_definition, registry

    try:
        if args.files:
            for path in args.files:
                if not path.is_file():
                    raise CommandError(f"{path}: no such file")
                found = parse_definition(path.read_text(encoding="utf-8"), source=str(path))
                print(f"{path}: {found.version}, {len(found.steps)} steps, sound")
                print(_step_table(found) + "\n")
            return 0
        known = registry()
    except DefinitionError as exc:
        raise CommandError(str(exc)) from exc
    for version in known.versions():
        mark = " (active: new incidents start under it)" if version == known.active else ""
        found = known.get(version)
        print(f"{known.files[version]}: {version}, {len(found.steps)} steps, sound{mark}")
        print(_step_table(found) + "\n")
    return 0


@command(
    "worker",
    "Run the background worker: record sla.at_risk / sla.breached events as steps run late, "
    "deliver the outbox events to webhook subscribers, tell people of them (notifications) and "
    "push them to their phones, and "
    "remove expired rows",
    arg("--once", action="store_true", help="one pass, then exit"),
    arg(
        "--interval",
        type=float,
        help="seconds between passes (default: TRANTIB_SLA_WORKER_INTERVAL_SECONDS)",
    ),
)
def worker(args: argparse.Namespace) -> int:
    import logging
    import signal
    import threading

    from app import housekeeping
    from app.core.config import get_settings
    from app.core.db import get_engine
    from app.notifications import fanout
    from app.outbox import listener
    from app.push import delivery as push
    from app.timing import worker as escalation
    from app.webhooks import delivery as webhooks

    if args.once:
        report = escalation.run_once()
        print(
            f"recorded {report.at_risk} at-risk and {report.breached} breached events"
            f" ({report.skipped} already recorded, {len(report.errors)} to retry)"
        )
        sent = webhooks.run_once()
        print(
            f"webhooks: {sent.events} events fanned out into {sent.deliveries_created} deliveries;"
            f" {sent.delivered} delivered, {sent.failed} to retry, {sent.dead} dead"
        )
        print(push.line(push.run_once()))
        told = fanout.run_pass(get_engine())
        print(f"notifications: {told.events} events told as {told.notifications} notifications")
        print(housekeeping.run_once().line())
        return 1 if report.errors else 0
    interval = args.interval or get_settings().sla_worker_interval_seconds
    if interval <= 0:
        raise CommandError("--interval must be more than 0 seconds")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    # Set on every NOTIFY of the outbox and the notifications (PostgreSQL): the webhooks and
    # the phones hear of an action at once, their intervals only the safety net.
    webhooks_woken, push_woken = threading.Event(), threading.Event()

    def halt(*_: object) -> None:
        stop.set()
        webhooks_woken.set()
        push_woken.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, halt)
    listener.wake_on_notify(
        get_engine(),
        [webhooks_woken, push_woken],
        get_settings().stream_safety_poll_seconds,
        listener.WORKER_LISTENER_NAME,
    )
    # Webhooks get their own loop: a slow receiver must not delay the SLA events.
    sender = threading.Thread(
        target=webhooks.run_forever,
        args=(get_settings().webhooks_interval_seconds, stop, webhooks_woken),
        name="webhooks",
        daemon=True,
    )
    sender.start()
    # And phones theirs: a push service that answers slowly must not hold up the webhooks.
    pusher = threading.Thread(
        target=push.run_forever,
        args=(get_settings().push_interval_seconds, stop, push_woken),
        name="push",
        daemon=True,
    )
    pusher.start()
    # The API processes run a pass as soon as an action commits; this is the safety net.
    threading.Thread(
        target=fanout.run_forever,
        args=(get_engine(), get_settings().notifications_interval_seconds, stop),
        name="notifications",
        daemon=True,
    ).start()
    threading.Thread(
        target=housekeeping.run_forever,
        args=(housekeeping.INTERVAL_SECONDS, stop),
        name="housekeeping",
        daemon=True,
    ).start()
    escalation.run_forever(interval, stop)
    sender.join(timeout=get_settings().webhooks_timeout_seconds * 2)
    pusher.join(timeout=get_settings().push_timeout_seconds * 2)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trantib", description="Trantib SOP service: operations commands"
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="<command>")
    for cmd in COMMANDS.values():
        sub = subparsers.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        for argument in cmd.arguments:
            sub.add_argument(*argument.flags, **argument.options)
        sub.set_defaults(run=cmd.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from app.core.config import SettingsInvalid

    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (CommandError, SettingsInvalid) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
