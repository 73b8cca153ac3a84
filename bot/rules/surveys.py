"""Pure rules of surveys (问卷): what an organizer may ask, what an answer may be, the results.

No Telegram and no database. An organizer's questions are of four kinds (one choice, several
choices, a number within a range, a short text); an officer's answer is checked against its
question (full-width digits read as digits, a number out of range or a text over 200 characters
refused); the results are counts and shares per option, the median and range of the numbers and
how many texts there are. The shipped templates (bot/data/survey_templates.toml) are read here.
"""

from __future__ import annotations

import re
import statistics
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from importlib import resources
from zoneinfo import ZoneInfo

from bot.rules.events import reminder_due
from bot.rules.forgiving import Lean, normalise, parse_clock, parse_day
from bot.rules.horizon import moment_beyond_horizon
from bot.rules.text import clean, meaningful

MAX_TITLE = 100
MAX_PROMPT = 100
MAX_OPTION = 30
MIN_OPTIONS = 2
MAX_OPTIONS = 10
MAX_QUESTIONS = 20
MAX_TEXT = 200
# Numbers fit an INTEGER column with room to spare; a budget of ten billion is a typo.
NUMBER_LIMIT = 1_000_000_000
# A deadline given as a day only (or by a button such as 一周后) ends at this wall time.
DEADLINE_CLOCK = time(18, 0)
# The reminder to those who have not answered: this long before the deadline.
REMIND_BEFORE = timedelta(hours=24)
TEMPLATES_FILE = "data/survey_templates.toml"


class QuestionKind(StrEnum):
    """The four kinds of question."""

    SINGLE = "single"
    MULTIPLE = "multiple"
    NUMBER = "number"
    TEXT = "text"


CHOICE_KINDS = (QuestionKind.SINGLE, QuestionKind.MULTIPLE)


class Problem(StrEnum):
    """Why a typed value was refused (bot/texts.py says each in one sentence)."""

    EMPTY = "empty"
    TITLE_TOO_LONG = "title_too_long"
    PROMPT_TOO_LONG = "prompt_too_long"
    OPTION_TOO_LONG = "option_too_long"
    TOO_FEW_OPTIONS = "too_few_options"
    TOO_MANY_OPTIONS = "too_many_options"
    SAME_OPTION = "same_option"
    BAD_RANGE = "bad_range"
    RANGE_ORDER = "range_order"
    RANGE_LIMIT = "range_limit"
    BAD_DEADLINE = "bad_deadline"
    DEADLINE_PAST = "deadline_past"
    DEADLINE_TOO_FAR = "deadline_too_far"
    NOT_A_NUMBER = "not_a_number"
    OUT_OF_RANGE = "out_of_range"
    TEXT_TOO_LONG = "text_too_long"
    NO_CHOICE = "no_choice"


class SurveyInputError(ValueError):
    """A typed value that cannot be taken, and why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True)
class Question:
    """One question as the organizer built it: options for choices, low–high for a number."""

    kind: QuestionKind
    prompt: str
    options: tuple[str, ...] = ()
    low: int | None = None
    high: int | None = None


@dataclass(frozen=True)
class Template:
    """A survey shipped ready to publish (the housing intention survey)."""

    key: str
    title: str
    questions: tuple[Question, ...]


# --- building ---------------------------------------------------------------------------------


def check_text(text: str, limit: int, too_long: Problem) -> str:
    """The cleaned text, or SurveyInputError when it shows nothing or is over `limit`."""
    value = clean(text)
    if not meaningful(value):
        raise SurveyInputError(Problem.EMPTY)
    if len(value) > limit:
        raise SurveyInputError(too_long)
    return value


def parse_options(text: str, already: Sequence[str] = ()) -> tuple[str, ...]:
    """The options typed one per line (added to those `already` given), checked: each at most
    MAX_OPTION characters, no two the same, at most MAX_OPTIONS in all."""
    added = [clean(line) for line in normalise_lines(text)]
    added = [line for line in added if meaningful(line)]
    if not added:
        raise SurveyInputError(Problem.EMPTY)
    if any(len(option) > MAX_OPTION for option in added):
        raise SurveyInputError(Problem.OPTION_TOO_LONG)
    options = (*already, *added)
    if len(set(options)) != len(options):
        raise SurveyInputError(Problem.SAME_OPTION)
    if len(options) > MAX_OPTIONS:
        raise SurveyInputError(Problem.TOO_MANY_OPTIONS)
    return tuple(options)


def normalise_lines(text: str) -> list[str]:
    """A typed block's lines: one option per line."""
    return [line for line in re.split(r"[\n\r]+", text) if line.strip()]


def enough_options(options: Sequence[str]) -> bool:
    """True once a choice question has the options it needs."""
    return MIN_OPTIONS <= len(options) <= MAX_OPTIONS


_RANGE = re.compile(r"^(-?\d{1,10})\s*(?:-|~|～|—|－|至|到|,|，)\s*(-?\d{1,10})$")


def parse_range(text: str) -> tuple[int, int]:
    """`0-100`, `10 至 1000`, `１０～５０` → (low, high): low below high, both within limits."""
    match = _RANGE.match(normalise(text).replace("，", ","))
    if match is None:
        raise SurveyInputError(Problem.BAD_RANGE)
    low, high = int(match.group(1)), int(match.group(2))
    if not (-NUMBER_LIMIT <= low <= NUMBER_LIMIT and -NUMBER_LIMIT <= high <= NUMBER_LIMIT):
        raise SurveyInputError(Problem.RANGE_LIMIT)
    if low >= high:
        raise SurveyInputError(Problem.RANGE_ORDER)
    return low, high


def deadline_in(days: int, now: datetime, zone: ZoneInfo) -> datetime:
    """The deadline `days` days on from today (in the union's zone), at DEADLINE_CLOCK."""
    day = now.astimezone(zone).date() + timedelta(days=days)
    return datetime.combine(day, DEADLINE_CLOCK, tzinfo=zone)


def parse_deadline(text: str, zone: ZoneInfo, now: datetime) -> datetime:
    """A typed deadline: `12月20日`, `2026-12-20 18:00`, `明天 晚上8点`, full-width digits too;
    a day alone ends at DEADLINE_CLOCK. Ahead of now and within two years."""
    parts = normalise(text).split()
    if not 1 <= len(parts) <= 2:
        raise SurveyInputError(Problem.BAD_DEADLINE)
    day = parse_day(parts[0], now.astimezone(zone).date(), lean=Lean.FUTURE)
    clock = DEADLINE_CLOCK if len(parts) == 1 else parse_clock(parts[1])
    if day is None or clock is None:
        raise SurveyInputError(Problem.BAD_DEADLINE)
    moment = datetime.combine(day, clock, tzinfo=zone)
    check_deadline(moment, now)
    return moment


def check_deadline(deadline: datetime, now: datetime) -> None:
    """A deadline still ahead and no more than two years on."""
    if deadline <= now:
        raise SurveyInputError(Problem.DEADLINE_PAST)
    if moment_beyond_horizon(deadline, now):
        raise SurveyInputError(Problem.DEADLINE_TOO_FAR)


# --- answering --------------------------------------------------------------------------------

_NUMBER = re.compile(r"^-?\d{1,12}$")


def parse_number(text: str, low: int | None, high: int | None) -> int:
    """A typed number (`１２０`, `1,200`, ` 120 `) within the question's range."""
    value = re.sub(r"[\s,，_]", "", normalise(text))
    if not _NUMBER.match(value):
        raise SurveyInputError(Problem.NOT_A_NUMBER)
    number = int(value)
    if (low is not None and number < low) or (high is not None and number > high):
        raise SurveyInputError(Problem.OUT_OF_RANGE)
    return number


def check_answer_text(text: str) -> str:
    """A short text answer: something visible, at most MAX_TEXT characters."""
    return check_text(text, MAX_TEXT, Problem.TEXT_TOO_LONG)


def check_choices(question: Question, chosen: Iterable[int]) -> tuple[int, ...]:
    """The options chosen, sorted, each one of the question's; one for a single choice, at
    least one for several."""
    picked = tuple(sorted(set(chosen)))
    if not picked or any(not 0 <= index < len(question.options) for index in picked):
        raise SurveyInputError(Problem.NO_CHOICE)
    if question.kind == QuestionKind.SINGLE and len(picked) != 1:
        raise SurveyInputError(Problem.NO_CHOICE)
    return picked


def encode_choices(chosen: Sequence[int]) -> str:
    """Choices as the answer row stores them: `0,2`."""
    return ",".join(str(index) for index in chosen)


def decode_choices(stored: str) -> tuple[int, ...]:
    """Choices back from an answer row."""
    return tuple(int(part) for part in stored.split(",") if part.isdigit())


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredAnswer:
    """One answer as the results read it: its question's position and what was answered."""

    position: int
    choices: str = ""
    number: int | None = None
    has_text: bool = False


@dataclass(frozen=True)
class OptionCount:
    """How many chose an option, and their share of those who answered the question (%)."""

    option: str
    count: int
    share: float


@dataclass(frozen=True)
class NumberSummary:
    """The median and range of a number question's answers."""

    median: float
    low: int
    high: int


@dataclass(frozen=True)
class QuestionResult:
    """One question's results."""

    question: Question
    answered: int
    options: tuple[OptionCount, ...] = ()
    numbers: NumberSummary | None = None


@dataclass
class _Tally:
    answered: int = 0
    counts: dict[int, int] = field(default_factory=dict)
    numbers: list[int] = field(default_factory=list)


def share(count: int, total: int) -> float:
    """count of total as a percentage, one decimal (0 of 0 is 0)."""
    return round(100 * count / total, 1) if total else 0.0


def median(numbers: Sequence[int]) -> float:
    """The median (the mean of the middle two for an even count)."""
    return float(statistics.median(numbers))


def summarise(
    questions: Sequence[Question], answers: Iterable[StoredAnswer]
) -> list[QuestionResult]:
    """Per question: how many answered it, counts and shares per option (several choices may
    add up to more than 100%), the median and range of numbers."""
    tallies = [_Tally() for _ in questions]
    for answer in answers:
        if not 0 <= answer.position < len(questions):
            continue
        tally = tallies[answer.position]
        question = questions[answer.position]
        if question.kind in CHOICE_KINDS:
            chosen = decode_choices(answer.choices)
            if not chosen:
                continue
            tally.answered += 1
            for index in chosen:
                tally.counts[index] = tally.counts.get(index, 0) + 1
        elif question.kind == QuestionKind.NUMBER:
            if answer.number is None:
                continue
            tally.answered += 1
            tally.numbers.append(answer.number)
        elif answer.has_text:
            tally.answered += 1
    results = []
    for question, tally in zip(questions, tallies, strict=True):
        options = tuple(
            OptionCount(
                option,
                tally.counts.get(index, 0),
                share(tally.counts.get(index, 0), tally.answered),
            )
            for index, option in enumerate(question.options)
        )
        numbers = (
            NumberSummary(median(tally.numbers), min(tally.numbers), max(tally.numbers))
            if tally.numbers
            else None
        )
        results.append(QuestionResult(question, tally.answered, options, numbers))
    return results


def number_text(value: float) -> str:
    """A median as people write it: 120, 120.5."""
    return str(int(value)) if value == int(value) else f"{value:.1f}"


# --- reminders --------------------------------------------------------------------------------


def reminder_mark(deadline: datetime, quiet: tuple[time, time] | None, zone: ZoneInfo) -> datetime:
    """When the reminder to those who have not answered is due: 24 hours before the deadline,
    or before the quiet hours when that mark falls inside them (as event reminders)."""
    return reminder_due(deadline, REMIND_BEFORE, quiet, zone)


# --- templates --------------------------------------------------------------------------------


def _question(raw: dict[str, object]) -> Question:
    kind = QuestionKind(str(raw["kind"]))
    options = raw.get("options", [])
    assert isinstance(options, list)
    low, high = raw.get("low"), raw.get("high")
    return Question(
        kind=kind,
        prompt=str(raw["prompt"]),
        options=tuple(str(option) for option in options),
        low=int(low) if isinstance(low, int) else None,
        high=int(high) if isinstance(high, int) else None,
    )


def load_templates(text: str | None = None) -> dict[str, Template]:
    """The templates (bot/data/survey_templates.toml unless `text` is given), by key."""
    if text is None:
        text = resources.files("bot").joinpath(TEMPLATES_FILE).read_text(encoding="utf-8")
    found: dict[str, Template] = {}
    for item in tomllib.loads(text).get("templates", []):
        questions = tuple(_question(raw) for raw in item["questions"])
        found[str(item["key"])] = Template(str(item["key"]), str(item["title"]), questions)
    return found


def valid_question(question: Question) -> bool:
    """True if a question (one of a template's, say) keeps the rules an organizer's must."""
    if not meaningful(question.prompt) or len(question.prompt) > MAX_PROMPT:
        return False
    if question.kind in CHOICE_KINDS:
        return (
            enough_options(question.options)
            and all(0 < len(option) <= MAX_OPTION for option in question.options)
            and len(set(question.options)) == len(question.options)
        )
    if question.kind == QuestionKind.NUMBER:
        return (
            question.low is not None
            and question.high is not None
            and -NUMBER_LIMIT <= question.low < question.high <= NUMBER_LIMIT
        )
    return not question.options
