"""Data access for surveys (问卷): surveys and their questions, answers, results, reminders.

Answering once: a submission writes the has-answered row (survey, officer) with INSERT … ON
CONFLICT DO NOTHING under a shared lock of the survey's row, and its answers only if that row
was new, all in the caller's transaction; closing takes the row's exclusive lock, so no answer
slips in after a close.

Anonymity: the answer rows of an anonymous survey carry no officer, no Telegram id, no
timestamp and no sequential id (their keys and the key grouping one submission are random, and
on SQLite the table keeps no rowid), so nothing in them orders or links them to the
has-answered rows, which keep only the day. What is left to the database itself (PostgreSQL's
transaction ids of rows written together) is outside what the bot's own tables tell. Text
answers may hold personal details and are sealed with FieldCipher (storage/sealed.py).
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.rules import surveys as rules
from bot.rules.events import Viewer, may_join
from bot.rules.surveys import Question, QuestionKind, QuestionResult, StoredAnswer
from storage import events as event_storage
from storage.broadcasts import Recipient
from storage.crypto import FieldCipher
from storage.models import (
    Officer,
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyRespondent,
    SurveyStatus,
)
from storage.upsert import insert_for

# Events' audience rules, read for surveys: a survey is no matchmaking and has no club.
AUDIENCE_KIND = "survey"
RECENT = 20


class Submitted(StrEnum):
    """What became of a submission."""

    STORED = "stored"
    ALREADY = "already"
    CLOSED = "closed"
    LATE = "late"
    GONE = "gone"


@dataclass(frozen=True)
class AnswerIn:
    """One answer as submitted: choices (option places), a number or a text (plain here)."""

    position: int
    choices: tuple[int, ...] = ()
    number: int | None = None
    text: str = ""


@dataclass(frozen=True)
class Response:
    """One submission for the XLSX: who (named surveys only) and the answers by position."""

    police_id: str = ""
    name: str = ""
    unit: str = ""
    answers: dict[int, AnswerIn] = field(default_factory=dict)


def token() -> str:
    """A random key: nothing about when or by whom it was written."""
    return secrets.token_hex(16)


# --- surveys and questions -----------------------------------------------------------------


def create(session: Session, survey: Survey, questions: Sequence[Question]) -> Survey:
    """Write a survey and its questions in the caller's transaction."""
    session.add(survey)
    session.flush()
    assert survey.id is not None
    for position, question in enumerate(questions):
        session.add(
            SurveyQuestion(
                survey_id=survey.id,
                position=position,
                kind=question.kind,
                prompt=question.prompt,
                options=json.dumps(list(question.options), ensure_ascii=False),
                low=question.low,
                high=question.high,
            )
        )
    session.flush()
    return survey


def get(
    session: Session, survey_id: int, *, for_update: bool = False, shared: bool = False
) -> Survey | None:
    """A survey, its row locked for a close (`for_update`) or against one (`shared`)."""
    query = select(Survey).where(Survey.id == survey_id)
    if for_update:
        query = query.with_for_update()
    elif shared:
        query = query.with_for_update(read=True)
    return session.exec(query).first()


def questions_of(session: Session, survey_id: int) -> list[Question]:
    """The survey's questions, in order."""
    rows = session.exec(
        select(SurveyQuestion)
        .where(SurveyQuestion.survey_id == survey_id)
        .order_by(col(SurveyQuestion.position))
    ).all()
    return [
        Question(
            kind=QuestionKind(row.kind),
            prompt=row.prompt,
            options=tuple(json.loads(row.options)),
            low=row.low,
            high=row.high,
        )
        for row in rows
    ]


def recent(session: Session, limit: int = RECENT) -> list[Survey]:
    """Surveys for the organizers' list: open ones first, then the newest."""
    return list(
        session.exec(
            select(Survey)
            .order_by(col(Survey.status) != SurveyStatus.OPEN, col(Survey.id).desc())
            .limit(limit)
        ).all()
    )


def is_open(survey: Survey, now: datetime) -> bool:
    """Open and before its deadline."""
    return survey.status == SurveyStatus.OPEN and survey.deadline > now


def in_audience(survey: Survey, officer: Officer) -> bool:
    """True if the survey's audience includes this officer."""
    viewer = Viewer(officer.unit, officer.gender, officer.single_opt_in, frozenset())
    return may_join(AUDIENCE_KIND, survey.audience, survey.audience_value, viewer)


def open_for(session: Session, officer: Officer, now: datetime) -> list[tuple[Survey, bool]]:
    """The open surveys this officer is asked, each with whether they have answered."""
    surveys = session.exec(
        select(Survey)
        .where(Survey.status == SurveyStatus.OPEN, col(Survey.deadline) > now)
        .order_by(col(Survey.deadline), col(Survey.id))
    ).all()
    mine = [survey for survey in surveys if in_audience(survey, officer)]
    if not mine or officer.id is None:
        return []
    answered = set(
        session.exec(
            select(SurveyRespondent.survey_id).where(
                SurveyRespondent.officer_id == officer.id,
                col(SurveyRespondent.survey_id).in_([survey.id for survey in mine]),
            )
        ).all()
    )
    return [(survey, survey.id in answered) for survey in mine]


def audience(session: Session, audience: str, value: str) -> list[Recipient]:
    """Active, bound officers of an audience (as events name theirs)."""
    return event_storage.audience_recipients(
        session, kind=AUDIENCE_KIND, audience=audience, value=value
    )


def has_answered(session: Session, survey_id: int, officer_id: int) -> bool:
    """True if this officer has answered this survey."""
    return (
        session.exec(
            select(SurveyRespondent.officer_id).where(
                SurveyRespondent.survey_id == survey_id, SurveyRespondent.officer_id == officer_id
            )
        ).first()
        is not None
    )


def respondents(session: Session, survey_id: int) -> int:
    """How many have answered."""
    return int(
        session.exec(
            select(func.count())
            .select_from(SurveyRespondent)
            .where(SurveyRespondent.survey_id == survey_id)
        ).one()
    )


# --- answering -----------------------------------------------------------------------------


def _claim(session: Session, survey_id: int, officer_id: int, now: datetime) -> bool:
    """Write the has-answered row unless it is there; True if this call wrote it."""
    values = {"survey_id": survey_id, "officer_id": officer_id, "answered_on": now.date()}
    dialect = session.get_bind().dialect.name
    insert = insert_for(dialect)
    statement = (
        insert(SurveyRespondent)
        .values(values)
        .on_conflict_do_nothing()
        .returning(col(SurveyRespondent.officer_id))
    )
    # RETURNING rather than the row count, which drivers need not give for an upsert.
    return session.execute(statement).first() is not None


def submit(
    session: Session,
    survey_id: int,
    officer_id: int,
    answers: Sequence[AnswerIn],
    *,
    cipher: FieldCipher,
    now: datetime,
) -> Submitted:
    """Store one officer's answers once, in the caller's transaction (see the module)."""
    survey = get(session, survey_id, shared=True)
    if survey is None or survey.id is None:
        return Submitted.GONE
    if survey.status != SurveyStatus.OPEN:
        return Submitted.CLOSED
    if survey.deadline <= now:
        return Submitted.LATE
    if not _claim(session, survey.id, officer_id, now):
        return Submitted.ALREADY
    response = token()
    named = None if survey.anonymous else officer_id
    # Written in an order of their random keys, not of the questions or of the submission.
    rows = [
        SurveyAnswer(
            id=token(),
            survey_id=survey.id,
            response_id=response,
            position=answer.position,
            choices=rules.encode_choices(answer.choices),
            number=answer.number,
            text_cipher=cipher.encrypt(answer.text),
            officer_id=named,
        )
        for answer in answers
    ]
    rows.sort(key=lambda row: row.id)
    session.add_all(rows)
    session.flush()
    return Submitted.STORED


def close(session: Session, survey_id: int, now: datetime) -> Survey | None:
    """Close an open survey (its row locked); None if it is gone or closed already."""
    survey = get(session, survey_id, for_update=True)
    if survey is None or survey.status != SurveyStatus.OPEN:
        return None
    survey.status = SurveyStatus.CLOSED
    survey.closed_at = now
    session.add(survey)
    session.flush()
    return survey


# --- results -------------------------------------------------------------------------------


def results(session: Session, survey_id: int) -> list[QuestionResult]:
    """Counts and shares per option, median and range of numbers, per question."""
    questions = questions_of(session, survey_id)
    rows = session.exec(
        select(
            SurveyAnswer.position,
            SurveyAnswer.choices,
            SurveyAnswer.number,
            SurveyAnswer.text_cipher != "",
        ).where(SurveyAnswer.survey_id == survey_id)
    ).all()
    answers = (
        StoredAnswer(position, choices, number, bool(has_text))
        for position, choices, number, has_text in rows
    )
    return rules.summarise(questions, answers)


def texts(
    session: Session, survey_id: int, position: int, cipher: FieldCipher, *, limit: int
) -> list[str]:
    """Up to `limit` text answers to one question (in the random order of their keys)."""
    tokens = session.exec(
        select(SurveyAnswer.text_cipher)
        .where(
            SurveyAnswer.survey_id == survey_id,
            SurveyAnswer.position == position,
            SurveyAnswer.text_cipher != "",
        )
        .order_by(col(SurveyAnswer.id))
        .limit(limit)
    ).all()
    return [cipher.decrypt(value) for value in tokens]


def responses(session: Session, survey: Survey, cipher: FieldCipher) -> list[Response]:
    """Every submission with its answers: who for a named survey (by police ID), none for an
    anonymous one (in the random order of the submissions' keys)."""
    assert survey.id is not None
    rows = session.exec(
        select(SurveyAnswer, Officer)
        .join(Officer, col(Officer.id) == col(SurveyAnswer.officer_id), isouter=True)
        .where(SurveyAnswer.survey_id == survey.id)
        .order_by(col(SurveyAnswer.response_id))
    ).all()
    grouped: dict[str, dict[int, AnswerIn]] = defaultdict(dict)
    people: dict[str, Officer | None] = {}
    for answer, officer in rows:
        people[answer.response_id] = None if survey.anonymous else officer
        grouped[answer.response_id][answer.position] = AnswerIn(
            answer.position,
            rules.decode_choices(answer.choices),
            answer.number,
            cipher.decrypt(answer.text_cipher),
        )
    found = []
    for response, answers in grouped.items():
        person = people[response]
        if person is None:
            found.append(Response(answers=answers))
        else:
            found.append(Response(person.police_id, person.name, person.unit, answers))
    if not survey.anonymous:
        found.sort(key=lambda item: item.police_id)
    return found


# --- reminders -----------------------------------------------------------------------------


def closing_between(session: Session, start: datetime, end: datetime) -> list[Survey]:
    """Open surveys whose deadline lies after `start` and no later than `end`."""
    return list(
        session.exec(
            select(Survey)
            .where(Survey.status == SurveyStatus.OPEN)
            .where(col(Survey.deadline) > start, col(Survey.deadline) <= end)
            .order_by(col(Survey.deadline), col(Survey.id))
        ).all()
    )


def not_answered(session: Session, survey: Survey) -> list[Recipient]:
    """Those in the survey's audience who have not answered it."""
    assert survey.id is not None
    answered = set(
        session.exec(
            select(SurveyRespondent.officer_id).where(SurveyRespondent.survey_id == survey.id)
        ).all()
    )
    return [
        recipient
        for recipient in audience(session, survey.audience, survey.audience_value)
        if recipient.officer_id not in answered
    ]
