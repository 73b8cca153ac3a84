"""storage/surveys.py on SQLite and (with NUANJING_TEST_DATABASE_URL) PostgreSQL: answering
once (racing submissions too), closed and late surveys, anonymous rows, results, audiences."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlmodel import select

from bot.rules.surveys import Question, QuestionKind
from storage import surveys
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import Survey, SurveyAnswer, SurveyRespondent, SurveyStatus
from storage.surveys import AnswerIn, Submitted
from storage.types import utcnow
from tests.conftest import add_officer

CIPHER = FieldCipher(FieldCipher.generate_key())
QUESTIONS = (
    Question(QuestionKind.SINGLE, "片区", ("天元", "荷塘")),
    Question(QuestionKind.MULTIPLE, "主食", ("面", "饺", "粉")),
    Question(QuestionKind.NUMBER, "预算", low=10, high=1000),
    Question(QuestionKind.TEXT, "建议"),
)


def _answers(area: int, budget: int, advice: str) -> list[AnswerIn]:
    return [
        AnswerIn(0, choices=(area,)),
        AnswerIn(1, choices=(0, 2)),
        AnswerIn(2, number=budget),
        AnswerIn(3, text=advice),
    ]


def _survey(database: Database, *, anonymous: bool, audience: str = "everyone") -> int:
    with database.session() as session:
        survey = surveys.create(
            session,
            Survey(
                title="住房意向调查",
                audience=audience,
                deadline=utcnow() + timedelta(days=3),
                anonymous=anonymous,
                created_by="test",
            ),
            QUESTIONS,
        )
        assert survey.id is not None
        return survey.id


def _officers(database: Database, count: int) -> list[int]:
    ids = []
    for number in range(count):
        officer = add_officer(
            database,
            f"5100{number:02d}",
            f"会员{number}",
            f"+86137100000{number:02d}",
            bound_to=9_500_000_000 + number,
            gender="F" if number % 2 else "M",
        )
        assert officer.id is not None
        ids.append(officer.id)
    return ids


def _submit(database: Database, survey_id: int, officer_id: int, budget: int = 100) -> Submitted:
    with database.session() as session:
        return surveys.submit(
            session,
            survey_id,
            officer_id,
            _answers(0, budget, "近一点"),
            cipher=CIPHER,
            now=utcnow(),
        )


def test_questions_come_back_as_built(database: Database) -> None:
    survey_id = _survey(database, anonymous=False)
    with database.session() as session:
        assert tuple(surveys.questions_of(session, survey_id)) == QUESTIONS


def test_answer_once_and_named_answers_are_linked(database: Database) -> None:
    [officer] = _officers(database, 1)
    survey_id = _survey(database, anonymous=False)
    assert _submit(database, survey_id, officer) == Submitted.STORED
    assert _submit(database, survey_id, officer) == Submitted.ALREADY
    with database.session() as session:
        rows = session.exec(select(SurveyAnswer)).all()
        assert surveys.has_answered(session, survey_id, officer)
        assert surveys.respondents(session, survey_id) == 1
        [response] = surveys.responses(session, session.get(Survey, survey_id), CIPHER)  # type: ignore[arg-type]
    assert len(rows) == 4 and {row.officer_id for row in rows} == {officer}
    assert response.police_id == "510000" and response.answers[3].text == "近一点"
    assert response.answers[1].choices == (0, 2)
    text_row = next(row for row in rows if row.position == 3)
    assert text_row.text_cipher and "近一点" not in text_row.text_cipher


def test_racing_submissions_of_one_officer_store_once(database_url: str) -> None:
    database = Database(database_url)
    try:
        [officer] = _officers(database, 1)
        survey_id = _survey(database, anonymous=True)
        with ThreadPoolExecutor(4) as pool:
            outcomes = list(pool.map(lambda _: _submit(database, survey_id, officer), range(4)))
        assert sorted(outcomes) == sorted([Submitted.STORED] + [Submitted.ALREADY] * 3)
        with database.session() as session:
            assert len(session.exec(select(SurveyAnswer)).all()) == 4
            assert len(session.exec(select(SurveyRespondent)).all()) == 1
    finally:
        database.dispose()


def test_anonymous_answers_carry_nothing_of_the_officer(database: Database) -> None:
    officers = _officers(database, 3)
    survey_id = _survey(database, anonymous=True)
    for number, officer in enumerate(officers):
        assert _submit(database, survey_id, officer, budget=100 + number) == Submitted.STORED
    with database.session() as session:
        rows = session.exec(select(SurveyAnswer)).all()
        respondents = session.exec(select(SurveyRespondent)).all()
        survey = session.get(Survey, survey_id)
        assert survey is not None
        responses = surveys.responses(session, survey, CIPHER)
    assert all(row.officer_id is None for row in rows)
    assert len({row.response_id for row in rows}) == 3
    assert sorted(r.officer_id for r in respondents) == sorted(officers)
    assert all(not r.police_id and not r.name for r in responses)
    assert sorted(r.answers[2].number or 0 for r in responses) == [100, 101, 102]


def test_closed_and_late_surveys_take_no_answers(database: Database) -> None:
    first, second = _officers(database, 2)
    survey_id = _survey(database, anonymous=False)
    with database.session() as session:
        closed = surveys.close(session, survey_id, utcnow())
        assert closed is not None and closed.status == SurveyStatus.CLOSED
        assert surveys.close(session, survey_id, utcnow()) is None
    assert _submit(database, survey_id, first) == Submitted.CLOSED
    late = _survey(database, anonymous=False)
    with database.session() as session:
        survey = session.get(Survey, late)
        assert survey is not None
        survey.deadline = utcnow() - timedelta(seconds=1)
        session.add(survey)
    assert _submit(database, late, second) == Submitted.LATE
    assert _submit(database, 9999, second) == Submitted.GONE
    with database.session() as session:
        assert session.exec(select(SurveyAnswer)).all() == []
        assert session.exec(select(SurveyRespondent)).all() == []


def test_results_and_texts(database: Database) -> None:
    officers = _officers(database, 4)
    survey_id = _survey(database, anonymous=True)
    for officer, budget in zip(officers, (100, 300, 120, 200), strict=True):
        _submit(database, survey_id, officer, budget)
    with database.session() as session:
        first, second, third, fourth = surveys.results(session, survey_id)
        texts = surveys.texts(session, survey_id, 3, CIPHER, limit=2)
    assert first.answered == 4 and [o.count for o in first.options] == [4, 0]
    assert [o.share for o in second.options] == [100.0, 0.0, 100.0]
    assert third.numbers is not None
    assert (third.numbers.median, third.numbers.low, third.numbers.high) == (160.0, 100, 300)
    assert fourth.answered == 4 and texts == ["近一点", "近一点"]


def test_audiences_and_open_surveys_per_officer(database: Database) -> None:
    men_and_women = _officers(database, 4)
    for_women = _survey(database, anonymous=False, audience="women")
    for_all = _survey(database, anonymous=False)
    with database.session() as session:
        women = [r.officer_id for r in surveys.audience(session, "women", "")]
        assert women == men_and_women[1::2]
    _submit(database, for_all, men_and_women[1])
    with database.session() as session:
        woman = session.get(surveys.Officer, men_and_women[1])
        man = session.get(surveys.Officer, men_and_women[0])
        assert woman is not None and man is not None
        seen = [(s.id, answered) for s, answered in surveys.open_for(session, woman, utcnow())]
        assert sorted(seen) == sorted([(for_women, False), (for_all, True)])
        assert [s.id for s, _ in surveys.open_for(session, man, utcnow())] == [for_all]
        survey = session.get(Survey, for_all)
        assert survey is not None
        waiting = {r.officer_id for r in surveys.not_answered(session, survey)}
    assert waiting == set(men_and_women) - {men_and_women[1]}
