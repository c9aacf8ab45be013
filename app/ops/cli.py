"""The `bourse` console script (SPEC §5)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from typing import Any

from app.core import logs
from app.core.settings import MissingSecretKey, Settings

log = logging.getLogger("bourse")


def _settings_or_exit() -> Settings:
    settings = Settings()
    try:
        settings.signing_key  # noqa: B018
    except MissingSecretKey as exc:
        print(f"bourse: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    return settings


# Whose X-Forwarded-For / X-Forwarded-Proto `bourse serve` believes when no option or
# FORWARDED_ALLOW_IPS says otherwise: a proxy on the same machine (uvicorn's own default).
DEFAULT_FORWARDED_ALLOW_IPS = "127.0.0.1,::1"


def forwarded_allow_ips(option: str | None) -> str:
    """The trusted proxy addresses: --forwarded-allow-ips, else FORWARDED_ALLOW_IPS, else the
    loopback addresses. Behind a proxy that is not one of them every visitor has the proxy's
    address, and one person's failed logins would lock password logins for everyone."""
    if option is not None:
        return option
    return os.environ.get("FORWARDED_ALLOW_IPS", DEFAULT_FORWARDED_ALLOW_IPS)


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration plus the app's loggers ("bourse", "bourse.access"),
    printed like uvicorn's own lines; applied by uvicorn in each worker process."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["bourse"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    # No e-mail address or token in the log, whatever wrote the line (app/core/logs.py).
    config.setdefault("filters", {})["private"] = {"()": "app.core.logs.PrivateDataFilter"}
    for handler in config["handlers"].values():
        handler["filters"] = [*handler.get("filters", []), "private"]
    return config


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.ops import workers
    from app.ops.http_limits import KEEP_ALIVE_SECONDS

    settings = _settings_or_exit()
    trusted = forwarded_allow_ips(args.forwarded_allow_ips)
    log.info("X-Forwarded-For is believed from: %s", trusted or "nobody")
    if trusted == "*":  # as uvicorn reads it: only a lone "*" trusts everyone
        log.warning(
            "forwarded-allow-ips is '*': anyone who reaches this port can choose their address; "
            "only safe when the proxy alone can reach it"
        )
    options = {
        "app": "app.main:create_app",
        "factory": True,
        "host": args.host,
        "port": args.port,
        "proxy_headers": True,
        "forwarded_allow_ips": trusted,
        "log_level": "info",
        # uvicorn's access log writes each client's address: ours (app/web/access_log.py) does
        # not, and its logger is set up in every worker by the same configuration.
        "access_log": False,
        "log_config": log_config(),
        # uvicorn's httptools protocol with limits on a request's head in bytes and in time
        # (app/ops/http_limits.py); idle kept-alive connections closed after 5 s.
        "http": "app.ops.http_limits:LimitedHttpToolsProtocol",
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
    }
    del settings
    if args.workers > 1 and workers.spreads_connections():
        # One listening socket per worker, so connections are spread evenly (app/ops/workers.py).
        return workers.run(options, args.workers)
    uvicorn.run(**options, workers=args.workers, reload=False)
    return 0


def migrate_database(url: str | None = None, revision: str = "head") -> None:
    from alembic import command
    from alembic.config import Config

    from app import RESOURCES

    config = Config(str(RESOURCES / "alembic.ini"))
    config.set_main_option("script_location", str(RESOURCES / "migrations"))
    config.attributes["configure_logger"] = False
    if url:
        config.attributes["url"] = url
    command.upgrade(config, revision)


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = Settings()
    migrate_database(settings.sqlalchemy_url)
    print("Base de données à jour.")
    return 0


def cmd_create_user(args: argparse.Namespace) -> int:
    from app.accounts import service
    from app.accounts.models import Role
    from app.core.db import engine_for, session_scope
    from app.web.errors import Invalid

    try:
        role = Role(args.role)
    except ValueError:
        print(
            f"bourse: rôle inconnu « {args.role} » (resident, moderator, staff, admin)",
            file=sys.stderr,
        )
        return 2
    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    settings = Settings()
    engine = engine_for(settings)
    with session_scope(engine) as session:
        try:
            user = service.create_user(
                session,
                args.email,
                display_name=args.name,
                password=password,
                role=role,
                verified=True,
            )
        except Invalid as exc:
            for field, message in exc.errors.items():
                print(f"bourse: {field}: {message}", file=sys.stderr)
            return 1
    print(f"Compte créé : {user.email} ({user.role})")
    return 0


def cmd_create_token(args: argparse.Namespace) -> int:
    from app.accounts import service
    from app.core.db import engine_for, session_scope

    settings = Settings()
    engine = engine_for(settings)
    with session_scope(engine) as session:
        user = service.user_by_email(session, args.email.strip())
        if user is None:
            print(f"bourse: aucun compte pour {args.email}", file=sys.stderr)
            return 1
        raw = service.create_api_token(session, user, args.label)
    print(raw)
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from app.core.db import engine_for, session_scope
    from app.ops.demo.seed import seed_demo

    if args.needs is not None and args.needs < 0:
        print("bourse: --needs attend un nombre positif ou nul", file=sys.stderr)
        return 2
    settings = _settings_or_exit()
    engine = engine_for(settings)
    with session_scope(engine) as session:
        report = seed_demo(session, settings, needs=args.needs)
    for line in report:
        print(line)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from app.core.db import engine_for
    from app.mail.worker import deliver_due
    from app.ops.jobs import run_forever

    settings = _settings_or_exit()
    engine = engine_for(settings)
    if args.once:
        from app.ops.jobs import purge_expired
        from app.syndication.webhook_delivery import deliver_due as deliver_webhooks

        sent = deliver_due(engine, settings)
        calls = deliver_webhooks(engine, settings)
        removed = purge_expired(engine, settings)
        print(
            f"{sent} message(s) envoyé(s), {calls} webhook(s) remis, "
            f"{sum(removed.values())} ligne(s) expirée(s) purgée(s)."
        )
        return 0
    stop = threading.Event()
    log.info("worker started")
    try:
        run_forever(engine, settings, stop, interval=args.interval)
    except KeyboardInterrupt:
        stop.set()
    return 0


def cmd_export_data(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.core.db import engine_for
    from app.ops.transfer import export_data, import_files_count

    settings = Settings()
    engine = engine_for(settings)
    with open(args.file, "w", encoding="utf-8") as out:
        count = export_data(engine, out, settings.uploads_path)
    files = import_files_count(Path(args.file))
    print(f"{count} ligne(s) et {files} fichier(s) exporté(s) dans {args.file}.", file=sys.stderr)
    return 0


def cmd_import_data(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.core.db import engine_for
    from app.ops.transfer import TransferError, import_data, import_files_count

    path = Path(args.file)
    if not path.is_file():
        print(f"bourse: fichier introuvable : {path}", file=sys.stderr)
        return 1
    settings = Settings()
    engine = engine_for(settings)
    try:
        count = import_data(engine, path, settings.uploads_path)
    except TransferError as exc:
        print(f"bourse: {exc}", file=sys.stderr)
        return 1
    files = import_files_count(path)
    print(
        f"{count} ligne(s) et {files} fichier(s) importé(s) dans {settings.uploads_path}.",
        file=sys.stderr,
    )
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.ops.backup import BackupError, backup

    settings = _settings_or_exit()
    try:
        manifest = backup(settings.sqlalchemy_url, settings.uploads_path, Path(args.directory))
    except BackupError as exc:
        print(f"bourse: {exc}", file=sys.stderr)
        return 1
    rows = sum(manifest["rows"].values())
    print(
        f"Copie prise dans {args.directory} : {manifest['database']}, {rows} ligne(s), "
        f"{manifest['files']} fichier(s) (manifest.json).",
        file=sys.stderr,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bourse", description="Bourse à initiatives")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="serve the site")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument(
        "--forwarded-allow-ips",
        default=None,
        metavar="ADDRESSES",
        help="comma-separated addresses or networks of the reverse proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed (default: $FORWARDED_ALLOW_IPS, "
        f"else {DEFAULT_FORWARDED_ALLOW_IPS})",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("migrate", help="apply all migrations to the configured database")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("create-user", help="create an account (verified) with a role")
    p.add_argument("email")
    p.add_argument("--role", required=True)
    p.add_argument("--name", help="public display name")
    p.add_argument("--password-stdin", action="store_true", help="read the password on stdin")
    p.set_defaults(func=cmd_create_user)

    p = sub.add_parser("create-token", help="print a new personal API token for an account")
    p.add_argument("email")
    p.add_argument("--label", default="CLI")
    p.set_defaults(func=cmd_create_token)

    p = sub.add_parser("seed-demo", help="load idempotent demo content")
    p.add_argument(
        "--needs",
        type=int,
        default=None,
        metavar="N",
        help="also add N generated needs with supports and comments, for benchmarks; "
        "not idempotent: each run adds N more",
    )
    p.set_defaults(func=cmd_seed_demo)

    p = sub.add_parser("worker", help="deliver queued e-mails and background jobs")
    p.add_argument("--once", action="store_true", help="one delivery round, then exit")
    p.add_argument("--interval", type=float, default=2.0)
    p.set_defaults(func=cmd_worker)
    p = sub.add_parser("export-data", help="write the whole database as JSON Lines")
    p.add_argument("file")
    p.set_defaults(func=cmd_export_data)

    p = sub.add_parser("import-data", help="load a JSON Lines export into an empty database")
    p.add_argument("file")
    p.set_defaults(func=cmd_import_data)

    p = sub.add_parser(
        "backup", help="a consistent copy of the database and uploaded files, site running"
    )
    p.add_argument("directory", help="a new or empty folder")
    p.set_defaults(func=cmd_backup)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        logs.install(handler)
    # Alembic announces each of its plugins at INFO: noise for people running `bourse migrate`.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    # A command that changes something announces it as a page would (webhooks queued…).
    from app.ops.wiring import subscribe_handlers

    subscribe_handlers()
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
