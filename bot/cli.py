"""The `nuanjing` command: run the bot, the demo or the sandbox; manage the database and roster."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import logs
from bot.policy import Policy, load_policy
from bot.settings import (
    Settings,
    SettingsError,
    load_settings,
    log_format_setting,
    policy_file_setting,
)
from storage.crypto import CipherError, FieldCipher
from storage.enums import Role

if TYPE_CHECKING:
    # SQLAlchemy, the tables and the leader are imported by the commands that use them:
    # `--help` and a settings error answer without loading them.
    from storage.db import Database

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
# The key `secret-key rotate` seals with: from the environment only, never the command line.
NEW_SECRET_KEY_ENV = "NUANJING_NEW_SECRET_KEY"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nuanjing",
        description="暖警 NuanJing: the police union's welfare bot on Telegram. "
        "Settings come from the environment and .env (see README.md).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    running = commands.add_parser(
        "run",
        help="run the bot: long polling, or a webhook when NUANJING_WEBHOOK_URL is set "
        "(needs TELEGRAM_BOT_TOKEN)",
        description="Run the bot in the foreground. Updates come by long polling, or by "
        "webhook when NUANJING_WEBHOOK_URL is set (with NUANJING_WEBHOOK_SECRET). Either way "
        "NUANJING_HTTP_LISTEN (127.0.0.1:8080; off: none) serves GET /healthz and GET "
        "/metrics, and in webhook mode the webhook's POSTs. SIGTERM or Ctrl-C stops it "
        "gracefully within 10 s: no new updates, those under way finished, exit 0.",
    )
    running.add_argument(
        "--standby",
        action="store_true",
        help="if another `nuanjing run` already uses this database, wait and take over when it "
        "stops (within 15 s) instead of refusing to start",
    )
    demo = commands.add_parser(
        "demo", help="play a scripted scenario against the local sandbox and print the chat"
    )
    demo.add_argument("--quiet", action="store_true", help="print only the summary line")
    sandbox = commands.add_parser("sandbox", help="run the local Bot API sandbox alone")
    sandbox.add_argument("--port", type=int, default=8081, help="port to listen on (8081)")
    sandbox.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    sandbox.add_argument(
        "--limits", action="store_true", help="enforce Telegram's flood limits (429s)"
    )
    secret_key = commands.add_parser(
        "secret-key",
        help="print a new NUANJING_SECRET_KEY (encrypts health details), or rotate the key",
        description="Without an action: print a new random key for NUANJING_SECRET_KEY.",
    )
    secret_key_commands = secret_key.add_subparsers(dest="secret_key_command", metavar="ACTION")
    rotate = secret_key_commands.add_parser(
        "rotate",
        help="re-encrypt every sealed value with a new key",
        description="Re-encrypt every sealed value (hospital wards and notes of care cases, "
        "the sealed fields of unfinished drafts, stored updates and pending replies) and the "
        "key check value with a new key, in one transaction: everything is under the new key "
        "afterwards, or nothing changed. Stop every running bot first. The current key is "
        "NUANJING_SECRET_KEY (environment or .env); the new key is read from the environment "
        "variable NUANJING_NEW_SECRET_KEY only, never from the command line (where other users "
        "and the shell history would see it). Make and store it first, e.g. "
        "new=$(nuanjing secret-key); then NUANJING_NEW_SECRET_KEY=$new nuanjing secret-key "
        "rotate; then set NUANJING_SECRET_KEY to it. Refused (exit 2, nothing changed) if "
        "NUANJING_SECRET_KEY is not the key the database was started with.",
    )
    rotate.add_argument(
        "--skip-unreadable",
        action="store_true",
        help="leave values the current key cannot read as they are (counted in the summary) "
        "instead of refusing",
    )
    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply pending migrations")
    # --- backups (issue 15) ---
    backing_up = commands.add_parser(
        "backup",
        help="copy the database to FILE while the bot runs",
        description="Write a consistent copy of the database (NUANJING_DATABASE_URL) to FILE, "
        "created readable by its owner only and replaced if it exists; the bot may go on "
        "running. SQLite: the online backup API, one instant of the database, progress in "
        "pages on a terminal; FILE is a plain SQLite file. PostgreSQL: pg_dump --format=custom "
        "(the PostgreSQL client tools must be installed; the password goes to pg_dump in its "
        "environment, never on a command line). Sealed health details stay encrypted in FILE, "
        "with the secret key's check value: keep NUANJING_SECRET_KEY, which FILE does not "
        "hold, to read them after a restore. Ends with a one-line summary.",
    )
    backing_up.add_argument("file", type=Path, metavar="FILE", help="the backup file to write")
    restoring = commands.add_parser(
        "restore",
        help="copy a backup FILE into an empty database",
        description="Copy FILE, made by `nuanjing backup`, into the database of "
        "NUANJING_DATABASE_URL, which must be empty: no table at all (a new SQLite file, a "
        "new PostgreSQL database), or an officer table with no row and no migration recorded. "
        "A database holding officers or migrations is refused (exit 2) and left as it is, so "
        "restore before the first `nuanjing db upgrade` or `nuanjing run`. SQLite: the backup "
        "API; PostgreSQL: pg_restore --no-owner in one transaction (all or nothing). Then run "
        "`nuanjing db upgrade` and start the bot with the NUANJING_SECRET_KEY of the backed-up "
        "database; another key is refused as usual.",
    )
    restoring.add_argument("file", type=Path, metavar="FILE", help="the backup file to read")
    roster = commands.add_parser("roster", help="import or export the union roster")
    roster_commands = roster.add_subparsers(dest="roster_command", required=True, metavar="ACTION")
    importing = roster_commands.add_parser("import", help="import a CSV or XLSX roster")
    importing.add_argument("file", type=Path)
    importing.add_argument(
        "--skip-invalid", action="store_true", help="import the good rows even if some are bad"
    )
    importing.add_argument(
        "--deactivate-missing",
        action="store_true",
        help="deactivate (and unbind) officers absent from the file",
    )
    exporting = roster_commands.add_parser("export", help="export the roster to CSV or XLSX")
    exporting.add_argument("file", type=Path)
    export = commands.add_parser("export", help="export data for the union's finance office")
    export_commands = export.add_subparsers(dest="export_command", required=True, metavar="WHAT")
    cases = export_commands.add_parser(
        "cases",
        help="care cases of a period to an XLSX workbook",
        description="Write every care case whose event date lies in the period (both ends "
        "included) to an .xlsx workbook, one row per case, with Chinese column names: police "
        "ID, name, unit, type, event date, policy and paid sums, status, the time and actor of "
        "each step, reason and duplicate link. Times are in NUANJING_TIMEZONE. Hospital wards "
        "and notes (health details) are never exported.",
    )
    cases.add_argument(
        "--from",
        dest="start",
        type=_date_arg,
        required=True,
        metavar="DATE",
        help="first event date, e.g. 2026-01-01",
    )
    cases.add_argument(
        "--to",
        dest="end",
        type=_date_arg,
        required=True,
        metavar="DATE",
        help="last event date, included, e.g. 2026-12-31",
    )
    cases.add_argument("file", type=Path, help="the .xlsx file to write (replaced if it exists)")
    greetings = commands.add_parser("greetings", help="festival and birthday greetings")
    greetings_commands = greetings.add_subparsers(
        dest="greetings_command", required=True, metavar="ACTION"
    )
    greetings_calendar = greetings_commands.add_parser(
        "calendar",
        help="print a year's festival dates (reads the policy file, no database)",
        description="Print the days greetings go out for the enabled occasions of the policy "
        "(NUANJING_POLICY_FILE, else the shipped one: 元旦, 春节, 元宵, 清明, 五一, 端午, 国庆, "
        "中秋) in a year, one 'YYYY-MM-DD name' line each, in date order. Lunar dates and solar "
        "terms are Beijing (UTC+8) dates.",
    )
    greetings_calendar.add_argument("year", metavar="YEAR", help="a year from 1950 to 2099")
    calendar = commands.add_parser("calendar", help="official calendars (working days)")
    calendar_commands = calendar.add_subparsers(
        dest="calendar_command", required=True, metavar="WHAT"
    )
    workdays = calendar_commands.add_parser(
        "workdays",
        help="print a year's holidays and make-up working days (调休)",
        description="Print the exceptions to the Monday-to-Friday week in a year's official "
        "arrangement of holidays and make-up working days, one line each, in date order: "
        "'YYYY-MM-DD 休' for a day off that is not a Saturday or Sunday, 'YYYY-MM-DD 班' for "
        "a Saturday or Sunday that is a working day. The State Council's arrangements for 2025 "
        "and 2026 ship with the bot; a year in the policy file (NUANJING_POLICY_FILE, "
        "[[workdays.years]]) replaces the shipped one. A year with no arrangement prints "
        "nothing and a one-line note on standard error, and exits 0: the services that follow "
        "the working days then keep Saturdays and Sundays off. Needs no database.",
    )
    workdays.add_argument("year", metavar="YEAR", help="a year from 1950 to 2099")
    club_leader = commands.add_parser(
        "club-leader",
        help="grant or revoke the lead of a club",
        description="Make an officer a leader of one of the policy's clubs (a member too, if "
        "they were not), or take the lead away (they stay a member). Audited; the officer is "
        "told in chat by the running bot.",
    )
    club_leader.add_argument("action", choices=["grant", "revoke"])
    club_leader.add_argument("police_id")
    club_leader.add_argument("club", help="the club's name as the policy spells it, e.g. 足球")
    staff = commands.add_parser(
        "staff",
        help="grant or revoke the staff role of a bookable service",
        description="Make an officer staff of one of the policy's bookable services (its "
        "doctor, counsellor or attendant: they see its bookings, take attendance and close "
        "slots with /staff), or take the role away. Audited; the officer is told in chat by the "
        "running bot, and /staff joins their command menu on the bot's next start. An unknown "
        "service key exits 2.",
    )
    staff.add_argument("action", choices=["grant", "revoke"])
    staff.add_argument("police_id")
    staff.add_argument("service", help="the service's key in the policy, e.g. health-room")
    unit_contact = commands.add_parser(
        "unit-contact",
        help="grant or revoke a unit's contact (基层工会联络员)",
        description="Make an officer the contact (基层工会联络员) of a unit: they nominate "
        "officers of that unit for retreats (疗休养) and honours (评先评优) within its quota, "
        "and only for that unit; or take the role away. A unit may have several contacts and "
        "an officer may be the contact of several units. UNIT is one of the policy's units "
        "(NUANJING_POLICY_FILE, units) or a unit an active officer of the roster is in, "
        "spelled as there; another exits 2 and lists them. Audited; the officer is told in "
        "chat by the running bot.",
    )
    unit_contact.add_argument("action", choices=["grant", "revoke"])
    unit_contact.add_argument("police_id")
    unit_contact.add_argument("unit", help="the unit's name, e.g. 天元分局")
    mutual_aid = commands.add_parser("mutual-aid", help="medical mutual aid (医疗互助)")
    mutual_aid_commands = mutual_aid.add_subparsers(
        dest="mutual_aid_command", required=True, metavar="ACTION"
    )
    mutual_aid_enrol = mutual_aid_commands.add_parser(
        "enrol",
        help="enrol every active member the year's schemes cover",
        description="Enrol every active member of the roster in each medical mutual-aid scheme "
        "of the policy (NUANJING_POLICY_FILE, mutual_aid.schemes) that runs in YEAR and covers "
        "them (everyone, or women only). A second run adds only the members it did not have "
        "and says so; members an organizer took out by hand in /mutualaid stay out. Audited. "
        "Progress on a terminal, then one summary line.",
    )
    mutual_aid_enrol.add_argument("year", metavar="YEAR", help="a year from 2000 to 2099")
    # --- member services: charity (issue 13, item 2) ---
    charity = commands.add_parser("charity", help="charity campaigns (慈善一日捐)")
    charity_commands = charity.add_subparsers(
        dest="charity_command", required=True, metavar="ACTION"
    )
    charity_import = charity_commands.add_parser(
        "import",
        help="record a campaign's payments from a CSV or XLSX file",
        description="Record what officers paid to campaign CAMPAIGN_ID (its number in /charity) "
        "from FILE, a .csv or .xlsx whose header row names police_id, amount (whole yuan) and "
        "date (and optionally name). Every bad line (a bad or unknown police ID, a bad amount, a "
        "bad date) is listed with its line number, and then nothing is recorded, unless "
        "--skip-invalid records the good lines alone. A line recorded before (the same officer, "
        "amount and date) is not recorded again. One transaction, audited; progress on a "
        "terminal, then one summary line.",
    )
    charity_import.add_argument("campaign_id", type=int, metavar="CAMPAIGN_ID")
    charity_import.add_argument("file", type=Path, metavar="FILE")
    charity_import.add_argument(
        "--skip-invalid", action="store_true", help="record the good lines even if some are bad"
    )
    # --- the year in figures (issue 16): the yearly report and sample data ---
    report = commands.add_parser("report", help="the union's yearly report as PDF or XLSX")
    report_commands = report.add_subparsers(dest="report_command", required=True, metavar="WHAT")
    report_year = report_commands.add_parser(
        "year",
        help="write a year's report to a .pdf or .xlsx file",
        description="Write the union's figures of a calendar year (members, care, blood, events, "
        "clubs, greetings, bookings; each against the year before) to FILE: a .pdf has a cover, "
        "one page per programme with its chart and a page per unit, in the chart font the "
        "install brings; an .xlsx has the same figures as sheets. Dates are days in "
        "NUANJING_TIMEZONE. The file is created readable by its owner only.",
    )
    report_year.add_argument("year", metavar="YEAR", help="a year from 2000 to 2099")
    report_year.add_argument("file", type=Path, help="the .pdf or .xlsx file to write (replaced)")
    sample = commands.add_parser(
        "sample-data",
        help="fill an empty database with a believable year of sample activity",
        description="Fill an EMPTY database (no officer on the roster; refused otherwise, exit 1) "
        "with sample officers across the policy's units and a year of activity written through "
        "the bot's own storage: bound accounts, care cases through their steps, blood drives "
        "with sign-ups and donations, an urgent appeal, events with sign-ups and attendance, "
        "club members, festival and birthday greetings as delivered. For a new union to see "
        "/stats and the yearly report before it has data of its own. Nothing is sent to "
        "Telegram. The same --seed gives the same data.",
    )
    sample.add_argument(
        "--officers", type=int, default=500, metavar="N", help="officers on the roster (500)"
    )
    sample.add_argument(
        "--year", type=int, default=None, metavar="YEAR", help="the year of activity (this year)"
    )
    sample.add_argument("--seed", type=int, default=2018, help="random seed (2018)")
    for name, verb in (("grant", "give"), ("revoke", "take away")):
        role = commands.add_parser(name, help=f"{verb} a role (organizer or admin)")
        role.add_argument("police_id")
        role.add_argument("role", choices=[str(r) for r in Role])
    return parser


def _date_arg(text: str) -> date:
    from bot.rules.care import parse_date

    value = parse_date(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    try:
        # One line per event, secrets removed at every level (bot/logs.py).
        logs.setup(log_format_setting())
    except SettingsError as exc:
        print(f"nuanjing: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return _dispatch(args)
    except SettingsError as exc:
        print(f"nuanjing: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        while _opened:
            _opened.pop().dispose()


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "sandbox":
        from bot.sandbox.server import serve

        asyncio.run(serve(args.host, args.port, limits=args.limits))
        return EXIT_OK
    if args.command == "demo":
        from bot.demo import run_demo

        return run_demo(quiet=args.quiet)
    if args.command == "secret-key":
        if args.secret_key_command == "rotate":
            return _rotate_secret_key(args)
        from storage.crypto import FieldCipher

        print(FieldCipher.generate_key())
        return EXIT_OK
    if args.command == "greetings" and args.greetings_command == "calendar":
        return _greetings_calendar(args.year)
    settings = load_settings()
    logs.protect_settings(settings)
    if args.command in ("backup", "restore"):
        # Before _open_database: a backup changes nothing, a restore wants no migrations.
        return _backup_or_restore(args, settings)
    if args.command == "calendar" and args.calendar_command == "workdays":
        return _calendar_workdays(args.year, load_policy(settings.policy_file))
    if args.command == "staff":
        # The service is checked before the database is touched.
        return _staff(args, settings, load_policy(settings.policy_file))
    if args.command == "run":
        token = settings.token()
        cipher = settings.cipher()  # refuse to start without the key, before touching anything
        policy = load_policy(settings.policy_file)
        database = _open_database(settings)
        _check_secret_key(database, cipher)
        from bot import runner
        from bot.cluster import shared
        from bot.leader import LeadershipLost, LeadershipRefused, held

        try:
            if shared(database, settings.webhook_url is not None):
                # Several instances may share PostgreSQL in webhook mode: each takes updates,
                # the one that holds the lead runs the sender and the jobs (bot/cluster.py).
                return _run(runner.run(settings, database, policy, token=token))
            # One poller and one sender per database: refuse (or with --standby wait) while
            # another `nuanjing run` holds the lease; stop if it is ever lost (bot/leader.py).
            with held(database, standby=args.standby):
                return _run(runner.run(settings, database, policy, token=token))
        except LeadershipRefused as exc:
            # Only a single instance's lease refuses: say what would serve several.
            print(f"nuanjing: {exc} {_one_instance_why(database, settings)}", file=sys.stderr)
            return EXIT_CONFIG
        except LeadershipLost as exc:
            print(f"nuanjing: {exc}", file=sys.stderr)
            return EXIT_FAILED
    if args.command == "report" and not args.year.isdigit():
        print(f"nuanjing: not a year: {args.year!r}", file=sys.stderr)
        return EXIT_FAILED
    database = _open_database(settings)
    if args.command == "report":
        return _report(args, database, settings)
    if args.command == "sample-data":
        return _sample_data(args, database, settings)
    if args.command == "db":
        print("database is up to date")
        return EXIT_OK
    if args.command == "roster":
        return _roster(args, database, settings)
    if args.command == "export":
        return _export(args, database, settings)
    if args.command == "club-leader":
        return _club_leader(args, database, load_policy(settings.policy_file))
    if args.command == "unit-contact":
        return _unit_contact(args, database, load_policy(settings.policy_file))
    if args.command == "mutual-aid":
        return _mutual_aid_enrol(args.year, database, load_policy(settings.policy_file))
    if args.command == "charity":
        return _charity_import(args, database, settings)
    return _role(args, database)


def _run(running: Coroutine[Any, Any, None]) -> int:
    """Run the bot; its one-sentence failure printed (a restart goes on from the database,
    where every unhandled update waits)."""
    from bot import runner

    try:
        asyncio.run(running)
    except runner.RunFailed as exc:
        print(f"nuanjing: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _one_instance_why(database: Database, settings: Settings) -> str:
    """Why this database takes one `nuanjing run` at a time."""
    if database.dialect != "postgresql":
        return "(SQLite serves one instance; several need PostgreSQL and webhook mode.)"
    return "(Polling serves one instance; several need webhook mode: NUANJING_WEBHOOK_URL.)"


# The databases the command opened, disposed when main() returns: a caller in the same process
# (the tests, a program calling main()) keeps no pooled connection behind, which PostgreSQL's
# driver would otherwise close with a ResourceWarning whenever the collector came by.
_opened: list[Database] = []


def _open_database(settings: Settings) -> Database:
    """Connect and apply pending migrations, or stop with one sentence."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from storage.db import Database

    database = Database(settings.database_url)
    _opened.append(database)
    try:
        pending = database.pending_migrations()
        if pending:
            database.upgrade()
            logging.getLogger("nuanjing").info("applied migrations: %s", ", ".join(pending))
    except SQLAlchemyError as exc:
        safe_url = make_url(settings.database_url).render_as_string(hide_password=True)
        raise SettingsError(
            f"NUANJING_DATABASE_URL cannot be used: {safe_url} ({type(exc).__name__})."
        ) from None
    return database


def _check_secret_key(database: Database, cipher: FieldCipher) -> None:
    """Stop with one sentence (exit 2) unless this is the key the database was started with."""
    from storage.keycheck import KeyCheckError, check_secret_key

    try:
        if check_secret_key(database, cipher):
            logging.getLogger("nuanjing").info("stored the secret key's check value (first start)")
    except KeyCheckError as exc:
        raise SettingsError(str(exc)) from None


def _rotate_secret_key(args: argparse.Namespace) -> int:
    """`secret-key rotate`: every sealed value and the check value to the new key, or nothing."""
    from storage.keycheck import KeyCheckError, KeyMismatchError, rotate_secret_key

    settings = load_settings()
    logs.protect_settings(settings)
    current = settings.cipher()
    new_key = os.environ.get(NEW_SECRET_KEY_ENV, "")
    logs.protect(new_key)
    if not new_key:
        raise SettingsError(
            f"{NEW_SECRET_KEY_ENV} is not set: make a key with `nuanjing secret-key`, store it, "
            f"and export it as {NEW_SECRET_KEY_ENV}."
        )
    try:
        new = FieldCipher(new_key)
    except CipherError as exc:
        raise SettingsError(
            f"{NEW_SECRET_KEY_ENV} is invalid: {exc}; make one with `nuanjing secret-key`."
        ) from None
    if settings.secret_key is not None and new_key == settings.secret_key.get_secret_value():
        raise SettingsError(
            f"{NEW_SECRET_KEY_ENV} is the current key: make a new one with `nuanjing secret-key`."
        )
    database = _open_database(settings)
    try:
        report = rotate_secret_key(
            database,
            current,
            new,
            skip_unreadable=args.skip_unreadable,
            progress=_progress_on_terminal() if sys.stderr.isatty() else None,
        )
    except KeyMismatchError as exc:
        raise SettingsError(str(exc)) from None
    except KeyCheckError as exc:
        print(f"nuanjing: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(report.summary())
    return EXIT_OK


def _progress_on_terminal() -> Callable[[str, int, int], None]:
    """Rotation's progress on one terminal line per sealed column."""

    def show(label: str, done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        print(f"\r{label}: {done}/{total}", end=end, file=sys.stderr, flush=True)

    return show


def _backup_or_restore(args: argparse.Namespace, settings: Settings) -> int:
    """`backup FILE` / `restore FILE`: refusals exit 2, failures 1, one sentence each."""
    from bot.backup import BackupFailed, BackupRefused, backup, restore

    act = backup if args.command == "backup" else restore
    progress = _pages_on_terminal(args.command) if sys.stderr.isatty() else None
    try:
        summary = act(settings.database_url, args.file, progress=progress)
    except BackupRefused as exc:
        raise SettingsError(str(exc)) from None
    except (BackupFailed, OSError) as exc:
        print(f"nuanjing: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(summary)
    return EXIT_OK


def _pages_on_terminal(label: str) -> Callable[[int, int], None]:
    """A backup's or restore's progress on one terminal line, in pages."""

    def show(done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        print(f"\r{label}: {done}/{total} pages", end=end, file=sys.stderr, flush=True)

    return show


def _roster(args: argparse.Namespace, database: Database, settings: Settings) -> int:
    from bot.roster import RosterError, export_roster, import_roster

    try:
        if args.roster_command == "export":
            count = export_roster(database, args.file)
            print(f"exported {count} officers to {args.file}")
            return EXIT_OK
        report = import_roster(
            database,
            args.file,
            actor="cli",
            skip_invalid=args.skip_invalid,
            deactivate_missing=args.deactivate_missing,
            today=datetime.now(settings.zone).date(),
        )
    except RosterError as exc:
        print(f"nuanjing: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for line in report.lines():
        print(line)
    return EXIT_FAILED if report.errors and not args.skip_invalid else EXIT_OK


def _export(args: argparse.Namespace, database: Database, settings: Settings) -> int:
    from bot.care_export import ExportError, export_file

    if args.start > args.end:
        print(f"nuanjing: --from {args.start} is after --to {args.end}", file=sys.stderr)
        return EXIT_FAILED
    _check_secret_key(database, settings.cipher())  # the export reads sealed values
    try:
        count = export_file(
            database, args.start, args.end, settings.zone, args.file, cipher=settings.cipher()
        )
    except ExportError as exc:
        print(f"nuanjing: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"exported {count} cases ({args.start} to {args.end}) to {args.file}")
    return EXIT_OK


def _report(args: argparse.Namespace, database: Database, settings: Settings) -> int:
    """`report year YEAR FILE`: the yearly report as PDF or XLSX."""
    from bot.report import FORMATS, ReportError, gather, write

    year = int(args.year)
    if not 2000 <= year <= 2099:
        print(f"nuanjing: not a year from 2000 to 2099: {year}", file=sys.stderr)
        return EXIT_FAILED
    if args.file.suffix.lower() not in FORMATS:
        print(f"nuanjing: the report is a .pdf or .xlsx file, not {args.file}", file=sys.stderr)
        return EXIT_FAILED
    report = gather(database, load_policy(settings.policy_file), year, settings.zone)
    try:
        written = write(
            report, args.file, progress=_progress_on_terminal() if sys.stderr.isatty() else None
        )
    except (ReportError, OSError) as exc:
        print(f"nuanjing: {exc}", file=sys.stderr)
        return EXIT_FAILED
    what = "pages" if args.file.suffix.lower() == ".pdf" else "sheets"
    print(f"wrote the {year} report ({written} {what}) to {args.file}")
    return EXIT_OK


def _sample_data(args: argparse.Namespace, database: Database, settings: Settings) -> int:
    """`sample-data`: a believable year in an empty database."""
    from bot.sample_data import SampleRefused, fill

    year = args.year if args.year is not None else datetime.now(settings.zone).year
    if args.officers < 1 or not 2000 <= year <= 2099:
        print(
            "nuanjing: --officers must be at least 1 and --year from 2000 to 2099",
            file=sys.stderr,
        )
        return EXIT_FAILED
    _check_secret_key(database, settings.cipher())  # care cases seal their wards with it
    # The greeting run logs each day it queues: a year of it would bury the progress line.
    logging.getLogger("bot.greetings").setLevel(logging.WARNING)
    try:
        summary = fill(
            database,
            load_policy(settings.policy_file),
            officers=args.officers,
            year=year,
            seed=args.seed,
            zone=settings.zone,
            cipher=settings.cipher(),
            progress=_progress_on_terminal() if sys.stderr.isatty() else None,
        )
    except SampleRefused as exc:
        print(f"nuanjing: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(summary.line())
    return EXIT_OK


def _greetings_calendar(year_text: str) -> int:
    """Print a year's enabled occasions; reads the policy file alone, no other setting."""
    from bot.rules.calendar import FIRST_YEAR, LAST_YEAR, occasions_in_year

    try:
        year: int | None = int(year_text)
    except ValueError:
        year = None
    if year is None or not FIRST_YEAR <= year <= LAST_YEAR:
        print(
            f"nuanjing: YEAR must be a year from {FIRST_YEAR} to {LAST_YEAR}, not {year_text!r}.",
            file=sys.stderr,
        )
        return EXIT_CONFIG  # a bad argument, like a bad setting, is the caller's to correct
    greetings = load_policy(policy_file_setting()).greetings
    for day, occasion in occasions_in_year(greetings.rules(), year):
        print(f"{day.isoformat()} {greetings.name_of(occasion)}")
    return EXIT_OK


def _calendar_workdays(year_text: str, policy: Policy) -> int:
    """Print a year's exceptions to the week: its days off (休) and make-up working days (班)."""
    from bot.policy import FIRST_WORK_YEAR, LAST_WORK_YEAR
    from bot.rules.workdays import WorkCalendar
    from bot.texts import WORKDAY_MARKS

    try:
        year: int | None = int(year_text)
    except ValueError:
        year = None
    if year is None or not FIRST_WORK_YEAR <= year <= LAST_WORK_YEAR:
        print(
            f"nuanjing: YEAR must be a year from {FIRST_WORK_YEAR} to {LAST_WORK_YEAR}, "
            f"not {year_text!r}.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    calendar = WorkCalendar.with_policy(policy.workdays.years)
    if not calendar.has_arrangement(year):
        print(
            f"nuanjing: no official arrangement of holidays for {year}: Saturdays and Sundays "
            "off, every other day a working day (add the year to the policy, [[workdays.years]]).",
            file=sys.stderr,
        )
        return EXIT_OK
    for day, mark in calendar.exceptions(year):
        print(f"{day.isoformat()} {WORKDAY_MARKS[mark.value]}")
    return EXIT_OK


def _role(args: argparse.Namespace, database: Database) -> int:
    from bot.rules.identity import normalize_police_id
    from storage.roles import RoleChange, change_role

    try:
        police_id = normalize_police_id(args.police_id)
    except ValueError as exc:
        print(f"nuanjing: {exc}", file=sys.stderr)
        return EXIT_FAILED
    role = Role(args.role)
    with database.session() as session:
        outcome, _officer = change_role(
            session, police_id, role, grant_it=args.command == "grant", actor="cli"
        )
    if outcome is RoleChange.NO_OFFICER:
        print(f"nuanjing: no officer with police ID {police_id}", file=sys.stderr)
        return EXIT_FAILED
    verb = "granted" if args.command == "grant" else "revoked"
    if outcome is RoleChange.UNCHANGED:
        print(f"{police_id}: nothing to do ({role} already {verb})")
    else:
        print(f"{police_id}: {role} {verb} (takes effect in chat at once; command menu on restart)")
    return EXIT_OK


def _club_leader(args: argparse.Namespace, database: Database, policy: Policy) -> int:
    from bot import texts
    from bot.rules.identity import normalize_police_id
    from storage import broadcasts, officers
    from storage.clubs import LeaderChange, change_leader
    from storage.models import BroadcastKind, Priority

    if args.club not in policy.clubs:
        clubs = ", ".join(policy.clubs) or "none"
        print(f"nuanjing: no club named {args.club!r} (clubs: {clubs})", file=sys.stderr)
        return EXIT_FAILED
    try:
        police_id = normalize_police_id(args.police_id)
    except ValueError as exc:
        print(f"nuanjing: {exc}", file=sys.stderr)
        return EXIT_FAILED
    lead = args.action == "grant"
    with database.session() as session:
        outcome, officer = change_leader(session, police_id, args.club, lead=lead, actor="cli")
        if outcome is LeaderChange.DONE and officer is not None and officer.id is not None:
            # Told through the outbox, in the same transaction: the running bot delivers it.
            notice = texts.CLUB_YOU_LEAD if lead else texts.CLUB_YOU_NO_LONGER_LEAD
            binding = officers.binding_of(session, officer.id)
            if binding is not None and binding.unreachable_since is None and officer.active:
                broadcasts.create(
                    session,
                    kind=BroadcastKind.ANNOUNCEMENT,
                    priority=Priority.NORMAL,
                    text=notice.format(club=args.club),
                    recipients=[broadcasts.Recipient(officer.id, binding.chat_id)],
                    created_by="cli",
                )
    if outcome is LeaderChange.NO_OFFICER:
        print(f"nuanjing: no officer with police ID {police_id}", file=sys.stderr)
        return EXIT_FAILED
    if outcome is LeaderChange.LEFT:
        print(f"nuanjing: officer {police_id} has left the union", file=sys.stderr)
        return EXIT_FAILED
    verb = "granted" if lead else "revoked"
    if outcome is LeaderChange.UNCHANGED:
        state = "already leads" if lead else "does not lead"
        print(f"{police_id}: nothing to do ({state} {args.club})")
    else:
        print(f"{police_id}: lead of {args.club} {verb} (the officer is told in chat)")
    return EXIT_OK


def _staff(args: argparse.Namespace, settings: Settings, policy: Policy) -> int:
    """`staff grant|revoke POLICE_ID SERVICE`: a service's staff role, audited and told."""
    from bot import texts
    from bot.rules.identity import normalize_police_id
    from storage import broadcasts, officers
    from storage.bookings import StaffChange, change_staff
    from storage.models import BroadcastKind, Priority

    service = policy.service(args.service)
    if service is None:
        keys = ", ".join(item.key for item in policy.services) or "none"
        raise SettingsError(f"the policy has no service with key {args.service!r} (keys: {keys}).")
    try:
        police_id = normalize_police_id(args.police_id)
    except ValueError as exc:
        print(f"nuanjing: {exc}", file=sys.stderr)
        return EXIT_FAILED
    grant_it = args.action == "grant"
    database = _open_database(settings)
    with database.session() as session:
        outcome, officer = change_staff(
            session, police_id, service.key, grant_it=grant_it, actor="cli"
        )
        if outcome is StaffChange.DONE and officer is not None and officer.id is not None:
            # Told through the outbox, in the same transaction: the running bot delivers it.
            notice = texts.STAFF_YOU_ARE if grant_it else texts.STAFF_YOU_NO_LONGER
            title = service.staff_title or texts.STAFF_DEFAULT_TITLE
            binding = officers.binding_of(session, officer.id)
            if binding is not None and binding.unreachable_since is None and officer.active:
                broadcasts.create(
                    session,
                    kind=BroadcastKind.ANNOUNCEMENT,
                    priority=Priority.NORMAL,
                    text=notice.format(service=service.name, title=title),
                    recipients=[broadcasts.Recipient(officer.id, binding.chat_id)],
                    created_by="cli",
                )
    if outcome is StaffChange.NO_OFFICER:
        print(f"nuanjing: no officer with police ID {police_id}", file=sys.stderr)
        return EXIT_FAILED
    if outcome is StaffChange.LEFT:
        print(f"nuanjing: officer {police_id} has left the union", file=sys.stderr)
        return EXIT_FAILED
    if outcome is StaffChange.UNCHANGED:
        state = "already staff of" if grant_it else "not staff of"
        print(f"{police_id}: nothing to do ({state} {service.key})")
    else:
        verb = "granted" if grant_it else "revoked"
        print(
            f"{police_id}: staff of {service.key} ({service.name}) {verb} (the officer is told "
            "in chat; their command menu follows on the bot's next start)"
        )
    return EXIT_OK


def _unit_contact(args: argparse.Namespace, database: Database, policy: Policy) -> int:
    """`unit-contact grant|revoke POLICE_ID UNIT`: a unit's contact role, audited and told."""
    from bot import texts
    from bot.rules.identity import normalize_police_id
    from storage import broadcasts, officers
    from storage.models import BroadcastKind, Priority
    from storage.roles import UnitContactChange, change_unit_contact, contact_unit_choices

    try:
        police_id = normalize_police_id(args.police_id)
    except ValueError as exc:
        print(f"nuanjing: {exc}", file=sys.stderr)
        return EXIT_FAILED
    unit = args.unit.strip()
    grant_it = args.action == "grant"
    with database.session() as session:
        units = contact_unit_choices(session, policy.units)
        if unit not in units:
            known = ", ".join(units) or "none"
            print(f"nuanjing: no unit named {unit!r} (units: {known})", file=sys.stderr)
            return EXIT_CONFIG
        outcome, officer = change_unit_contact(
            session, police_id, unit, grant_it=grant_it, actor="cli"
        )
        if outcome is UnitContactChange.DONE and officer is not None and officer.id is not None:
            # Told through the outbox, in the same transaction: the running bot delivers it.
            notice = texts.UNIT_CONTACT_YOU_ARE if grant_it else texts.UNIT_CONTACT_YOU_NO_LONGER
            binding = officers.binding_of(session, officer.id)
            if binding is not None and binding.unreachable_since is None and officer.active:
                broadcasts.create(
                    session,
                    kind=BroadcastKind.ANNOUNCEMENT,
                    priority=Priority.NORMAL,
                    text=notice.format(unit=unit),
                    recipients=[broadcasts.Recipient(officer.id, binding.chat_id)],
                    created_by="cli",
                )
    if outcome is UnitContactChange.NO_OFFICER:
        print(f"nuanjing: no officer with police ID {police_id}", file=sys.stderr)
        return EXIT_FAILED
    if outcome is UnitContactChange.LEFT:
        print(f"nuanjing: officer {police_id} has left the union", file=sys.stderr)
        return EXIT_FAILED
    if outcome is UnitContactChange.UNCHANGED:
        state = "already a contact of" if grant_it else "not a contact of"
        print(f"{police_id}: nothing to do ({state} {unit})")
    else:
        verb = "granted" if grant_it else "revoked"
        print(f"{police_id}: contact of {unit} {verb} (the officer is told in chat)")
    return EXIT_OK


def _mutual_aid_enrol(year_text: str, database: Database, policy: Policy) -> int:
    """`mutual-aid enrol YEAR`: every active member each scheme of the year covers, once."""
    from storage import mutual_aid

    year = int(year_text) if year_text.isascii() and year_text.isdigit() else 0
    if not 2000 <= year <= 2099:
        print(f"nuanjing: not a year from 2000 to 2099: {year_text!r}", file=sys.stderr)
        return EXIT_FAILED
    schemes = policy.mutual_aid.of_year(year)
    if not schemes:
        print(f"nuanjing: the policy has no mutual-aid scheme for {year}", file=sys.stderr)
        return EXIT_FAILED
    shown = sys.stderr.isatty()
    results = []
    with database.session() as session:
        for scheme in schemes:

            def progress(done: int, total: int, name: str = scheme.name) -> None:
                if shown:
                    end = "\n" if done >= total else ""
                    print(f"\r{name}: {done}/{total}", end=end, file=sys.stderr, flush=True)

            results.append(
                mutual_aid.enrol(
                    session, year, scheme.key, scheme.covers, actor="cli", progress=progress
                )
            )
    parts = []
    for scheme, result in zip(schemes, results, strict=True):
        kept_out = f", {result.excluded} kept out" if result.excluded else ""
        parts.append(f"{scheme.name} +{result.added} ({result.already} already{kept_out})")
    added = sum(result.added for result in results)
    tail = "" if added else " — nobody new to enrol"
    print(f"mutual aid {year}: " + "; ".join(parts) + tail)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())


def _charity_import(args: argparse.Namespace, database: Database, settings: Settings) -> int:
    """`charity import CAMPAIGN_ID FILE`: every bad line listed; all or nothing unless
    --skip-invalid; one summary line."""
    from bot import texts
    from bot.rules.charity import PaymentFileError, file_suffix, yuan
    from handlers.charity import error_lines
    from storage import audit
    from storage import charity as charity_storage
    from storage.types import utcnow

    path: Path = args.file
    cap = load_policy(settings.policy_file).charity.amount_cap
    try:
        suffix = file_suffix(path.name)
        data = path.read_bytes()
    except PaymentFileError:
        print(f"nuanjing: {path.name}: use a .csv or .xlsx file", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(f"nuanjing: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED

    def show(done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        print(f"\rcharity import: {done}/{total} payments", end=end, file=sys.stderr, flush=True)

    progress = show if sys.stderr.isatty() else None
    try:
        with database.session() as session:
            report = charity_storage.import_payments(
                session,
                args.campaign_id,
                data,
                suffix,
                today=datetime.now(settings.zone).date(),
                actor="cli",
                now=utcnow(),
                skip_invalid=args.skip_invalid,
                cap=cap,
                progress=progress,
            )
            if report.applied:
                audit.record(
                    session,
                    actor="cli",
                    action="charity.import",
                    target=f"charity:{args.campaign_id}",
                    file=path.name[:64],
                    rows=report.rows_read,
                    imported=report.imported,
                    already=report.already,
                    invalid=report.invalid_rows,
                    skip_invalid=args.skip_invalid,
                )
    except PaymentFileError as exc:
        problem = texts.CHARITY_FILE_PROBLEMS[exc.problem.value].format(detail=exc.detail)
        print(f"nuanjing: {path.name}: {problem}", file=sys.stderr)
        return EXIT_FAILED
    if report.outcome != charity_storage.Outcome.STORED:
        print(f"nuanjing: campaign #{args.campaign_id} is {report.outcome}", file=sys.stderr)
        return EXIT_FAILED
    for line in error_lines(report.errors, cap, shown=None):
        print(line)
    if not report.applied:
        print(
            f"nothing imported: {report.invalid_rows} of {report.rows_read} rows are invalid; "
            "fix them, or use --skip-invalid to import the rest"
        )
        return EXIT_FAILED
    print(
        f"imported {report.imported} payments ({yuan(report.amount)}) to campaign "
        f"#{args.campaign_id}: {report.rows_read} rows read, {report.already} already recorded, "
        f"{report.invalid_rows} invalid skipped"
    )
    return EXIT_OK
