"""The claim reminder after a reported hospitalization (bot/jobs/mutual_aid.py): once, the
policy's days after the admission, only to the officer concerned and only for the schemes they
are enrolled in; never for a duplicate or declined report; nothing of the stay in it.

Job level with `now` passed in (no sleeps), on SQLite and, with NUANJING_TEST_DATABASE_URL, on
PostgreSQL; one test through the running bot and its clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from bot.jobs.mutual_aid import JOB_NAME, occasion_of, queue_reminders, run_reminders
from bot.policy import load_policy
from bot.scheduler import clock_of
from storage import care, ledger
from storage import mutual_aid as storage
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import Broadcast, CaseStatus, Delivery
from tests.conftest import BotHarness, add_officer
from tests.dialogs import Person, says

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = load_policy(None)
CIPHER = FieldCipher(FieldCipher.generate_key())
ADMITTED = date(2030, 6, 10)
BOUND_FROM = 9_700_000_000
WANG = Person(BOUND_FROM + 1, "王建国")
LI = Person(BOUND_FROM + 2, "李娜")
ZHANG = Person(BOUND_FROM + 3, "张伟")


def at(day: date, hour: int = 9) -> datetime:
    """A wall time in Shanghai as an aware UTC moment."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI).astimezone(UTC)


def _roster(database: Database) -> dict[str, int]:
    ids = {}
    for person, police_id, gender in ((WANG, "100001", "M"), (LI, "100002", "F")):
        officer = add_officer(
            database,
            police_id,
            person.first_name,
            f"+86138000000{police_id[-2:]}",
            gender=gender,
            bound_to=person.id,
        )
        assert officer.id is not None
        ids[police_id] = officer.id
    # A colleague who reports for them, and is enrolled in nothing.
    colleague = add_officer(database, "100003", "张伟", "+8613800000003", bound_to=ZHANG.id)
    assert colleague.id is not None
    ids["100003"] = colleague.id
    return ids


def _enrol(database: Database, year: int, *police_ids: str) -> None:
    with database.session() as session:
        for police_id in police_ids:
            for scheme in POLICY.mutual_aid.of_year(year):
                storage.add_by_hand(session, year, scheme.key, scheme.covers, police_id, actor="t")


def _hospitalized(
    database: Database,
    officer_id: int,
    reporter_id: int,
    day: date = ADMITTED,
    status: CaseStatus = CaseStatus.REPORTED,
) -> int:
    with database.session() as session:
        case = care.create(
            session,
            care.NewCase(
                officer_id,
                reporter_id,
                "hospitalization",
                day,
                hospital="市中心医院",
                ward="心内科3床",
                note="心肌梗塞",
            ),
            CIPHER,
        )
        case.status = status
        session.add(case)
        assert case.id is not None
        return case.id


def _sent(database: Database) -> list[tuple[str, list[int]]]:
    with database.session() as session:
        found = session.exec(select(Broadcast).order_by(col(Broadcast.id))).all()
        return [
            (
                broadcast.text,
                sorted(
                    session.exec(
                        select(Delivery.officer_id).where(Delivery.broadcast_id == broadcast.id)
                    ).all()
                ),
            )
            for broadcast in found
        ]


def _run(database: Database, now: datetime) -> int:
    return queue_reminders(database, POLICY, now, zone=SHANGHAI)


def test_reminded_once_after_the_stay_with_the_schemes_and_documents(
    database: Database, database_url: str
) -> None:
    ids = _roster(database)
    _enrol(database, ADMITTED.year, "100001", "100002")
    # Reported by a colleague: the officer concerned is reminded, not the reporter.
    case_id = _hospitalized(database, ids["100002"], ids["100003"])
    assert _run(database, at(ADMITTED + timedelta(days=6), 23)) == 0
    assert _run(database, at(ADMITTED + timedelta(days=7), 0)) == 1
    assert _run(database, at(ADMITTED + timedelta(days=7), 10)) == 0
    # A restart (another process on the same database) sends nothing again.
    restarted = Database(database_url)
    try:
        assert _run(restarted, at(ADMITTED + timedelta(days=8))) == 0
    finally:
        restarted.dispose()
    [(text, recipients)] = _sent(database)
    assert recipients == [ids["100002"]]
    # Both of her schemes, what they pay and what to bring.
    for fragment in (
        "职工住院医疗互助",
        "女职工特殊疾病互助",
        "出院小结",
        "银行卡复印件",
        "病理报告",
    ):
        assert fragment in text
    # Nothing of the stay itself.
    for private in ("市中心医院", "心内科", "心肌梗塞"):
        assert private not in text
    with database.session() as session:
        assert ledger.claimed_count(session, occasion_of(case_id), ADMITTED) == 1


def test_only_the_schemes_enrolled_in_that_year(database: Database) -> None:
    ids = _roster(database)
    _enrol(database, ADMITTED.year, "100001")
    _enrol(database, ADMITTED.year - 1, "100002")  # last year's cover does not count
    _hospitalized(database, ids["100001"], ids["100001"])
    _hospitalized(database, ids["100002"], ids["100002"])
    _hospitalized(database, ids["100003"], ids["100003"])  # enrolled in nothing
    assert _run(database, at(ADMITTED + timedelta(days=7))) == 1
    [(text, recipients)] = _sent(database)
    assert recipients == [ids["100001"]]
    assert "职工住院医疗互助" in text and "女职工特殊疾病互助" not in text


def test_no_reminder_for_a_duplicate_a_declined_or_an_old_report(database: Database) -> None:
    ids = _roster(database)
    _enrol(database, ADMITTED.year, "100001", "100002")
    _hospitalized(database, ids["100001"], ids["100001"], status=CaseStatus.DUPLICATE)
    _hospitalized(database, ids["100002"], ids["100002"], status=CaseStatus.DECLINED)
    # Reported (or first looked at) long after the window closed.
    _hospitalized(database, ids["100001"], ids["100001"], day=ADMITTED - timedelta(days=60))
    assert _run(database, at(ADMITTED + timedelta(days=7))) == 0
    assert _sent(database) == []


def test_a_second_stay_is_reminded_again(database: Database) -> None:
    ids = _roster(database)
    _enrol(database, ADMITTED.year, "100001")
    _hospitalized(database, ids["100001"], ids["100001"])
    assert _run(database, at(ADMITTED + timedelta(days=7))) == 1
    later = ADMITTED + timedelta(days=20)
    _hospitalized(database, ids["100001"], ids["100001"], day=later)
    assert _run(database, at(later + timedelta(days=7))) == 1
    assert [recipients for _, recipients in _sent(database)] == [[ids["100001"]]] * 2


async def test_the_running_bot_sends_it_by_its_clock(bot: BotHarness) -> None:
    ids = _roster(bot.database)
    await bot.meet(WANG, LI, ZHANG)
    _enrol(bot.database, ADMITTED.year, "100001")
    _hospitalized(bot.database, ids["100001"], ids["100003"])
    jobs = bot.application.job_queue
    assert jobs is not None and jobs.get_jobs_by_name(JOB_NAME)
    clock_of(bot.application).freeze(at(ADMITTED + timedelta(days=3), 12))
    assert await run_reminders(bot.application) == 0
    clock_of(bot.application).freeze(at(ADMITTED + timedelta(days=7), 12))
    assert await run_reminders(bot.application) == 1
    await bot.dialog.play(
        [(WANG, None, [says("祝您早日康复", "职工住院医疗互助", "出院小结", "住院发票")])]
    )
    assert await run_reminders(bot.application) == 0
    assert await bot.quiet(WANG) == []
    # The colleague who reported it hears nothing.
    assert await bot.quiet(ZHANG) == []
