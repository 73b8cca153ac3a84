"""The pure rules of surveys (bot/rules/surveys.py) as tables: options, ranges, deadlines,
answers (full-width digits, out of range, too long), results arithmetic, the template."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.rules import surveys as rules
from bot.rules.surveys import (
    Problem,
    Question,
    QuestionKind,
    StoredAnswer,
    SurveyInputError,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 3, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
QUIET = (time(21, 0), time(8, 0))


def _problem(call: object) -> Problem:
    assert callable(call)
    with pytest.raises(SurveyInputError) as caught:
        call()
    return caught.value.problem


@pytest.mark.parametrize(
    ("text", "already", "expected"),
    [
        ("满意\n一般\n不满意", (), ("满意", "一般", "不满意")),
        ("  面条  \n\n水饺 ", (), ("面条", "水饺")),
        ("米粉", ("面条", "水饺"), ("面条", "水饺", "米粉")),
        ("\u202e反向", (), ("反向",)),
    ],
)
def test_options(text: str, already: tuple[str, ...], expected: tuple[str, ...]) -> None:
    assert rules.parse_options(text, already) == expected


@pytest.mark.parametrize(
    ("text", "already", "problem"),
    [
        ("   \n\u200b", (), Problem.EMPTY),
        ("长" * 31, (), Problem.OPTION_TOO_LONG),
        ("甲\n甲", (), Problem.SAME_OPTION),
        ("甲", ("甲",), Problem.SAME_OPTION),
        ("\n".join(str(n) for n in range(11)), (), Problem.TOO_MANY_OPTIONS),
    ],
)
def test_bad_options(text: str, already: tuple[str, ...], problem: Problem) -> None:
    assert _problem(lambda: rules.parse_options(text, already)) == problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0-100", (0, 100)),
        ("１０～５０", (10, 50)),
        ("10 至 1000", (10, 1000)),
        ("-5到5", (-5, 5)),
        ("1，9", (1, 9)),
    ],
)
def test_ranges(text: str, expected: tuple[int, int]) -> None:
    assert rules.parse_range(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("一百", Problem.BAD_RANGE),
        ("100", Problem.BAD_RANGE),
        ("5-5", Problem.RANGE_ORDER),
        ("9-1", Problem.RANGE_ORDER),
        ("0-9999999999", Problem.RANGE_LIMIT),
    ],
)
def test_bad_ranges(text: str, problem: Problem) -> None:
    assert _problem(lambda: rules.parse_range(text)) == problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12月20日", datetime(2026, 12, 20, 18, 0, tzinfo=SHANGHAI)),
        ("２０２６-１２-２０ ２０:３０", datetime(2026, 12, 20, 20, 30, tzinfo=SHANGHAI)),
        ("明天 晚上8点", datetime(2026, 12, 4, 20, 0, tzinfo=SHANGHAI)),
        ("1月5日", datetime(2027, 1, 5, 18, 0, tzinfo=SHANGHAI)),
        ("今天", datetime(2026, 12, 3, 18, 0, tzinfo=SHANGHAI)),
        ("昨天", Problem.DEADLINE_PAST),
        ("今天 上午9点", Problem.DEADLINE_PAST),
        ("2030-01-01", Problem.DEADLINE_TOO_FAR),
        ("下周五", Problem.BAD_DEADLINE),
        ("12月20日 25点", Problem.BAD_DEADLINE),
    ],
)
def test_deadlines(text: str, expected: datetime | Problem) -> None:
    if isinstance(expected, Problem):
        assert _problem(lambda: rules.parse_deadline(text, SHANGHAI, NOW)) == expected
    else:
        assert rules.parse_deadline(text, SHANGHAI, NOW) == expected


def test_deadline_buttons_end_at_six_in_the_evening() -> None:
    assert rules.deadline_in(7, NOW, SHANGHAI) == datetime(2026, 12, 10, 18, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("120", 120),
        ("１２０", 120),
        (" 1,000 ", 1000),
        ("10", 10),
        ("1000", 1000),
        ("9", Problem.OUT_OF_RANGE),
        ("1001", Problem.OUT_OF_RANGE),
        ("一百二", Problem.NOT_A_NUMBER),
        ("12.5", Problem.NOT_A_NUMBER),
        ("", Problem.NOT_A_NUMBER),
    ],
)
def test_number_answers(text: str, expected: int | Problem) -> None:
    if isinstance(expected, Problem):
        assert _problem(lambda: rules.parse_number(text, 10, 1000)) == expected
    else:
        assert rules.parse_number(text, 10, 1000) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  希望周末开放 ", "希望周末开放"),
        ("长" * 200, "长" * 200),
        ("长" * 201, Problem.TEXT_TOO_LONG),
        ("\u200b  ", Problem.EMPTY),
    ],
)
def test_text_answers(text: str, expected: str | Problem) -> None:
    if isinstance(expected, Problem):
        assert _problem(lambda: rules.check_answer_text(text)) == expected
    else:
        assert rules.check_answer_text(text) == expected


SINGLE = Question(QuestionKind.SINGLE, "片区", ("甲", "乙", "丙"))
MULTIPLE = Question(QuestionKind.MULTIPLE, "主食", ("面", "饺", "粉"))


@pytest.mark.parametrize(
    ("question", "chosen", "expected"),
    [
        (SINGLE, [1], (1,)),
        (SINGLE, [0, 1], Problem.NO_CHOICE),
        (SINGLE, [3], Problem.NO_CHOICE),
        (MULTIPLE, [2, 0, 2], (0, 2)),
        (MULTIPLE, [], Problem.NO_CHOICE),
        (MULTIPLE, [-1], Problem.NO_CHOICE),
    ],
)
def test_choices(
    question: Question, chosen: list[int], expected: tuple[int, ...] | Problem
) -> None:
    if isinstance(expected, Problem):
        assert _problem(lambda: rules.check_choices(question, chosen)) == expected
    else:
        assert rules.check_choices(question, chosen) == expected
        assert rules.decode_choices(rules.encode_choices(expected)) == expected


@pytest.mark.parametrize(
    ("numbers", "median"),
    [([5], 5.0), ([1, 3], 2.0), ([3, 1, 2], 2.0), ([10, 20, 30, 41], 25.0), ([1, 2], 1.5)],
)
def test_median(numbers: list[int], median: float) -> None:
    assert rules.median(numbers) == median


@pytest.mark.parametrize(
    ("count", "total", "share"), [(2, 3, 66.7), (1, 3, 33.3), (0, 0, 0.0), (3, 3, 100.0)]
)
def test_shares(count: int, total: int, share: float) -> None:
    assert rules.share(count, total) == share


def test_results_per_question() -> None:
    number = Question(QuestionKind.NUMBER, "预算", low=10, high=1000)
    text = Question(QuestionKind.TEXT, "建议")
    answers = [
        StoredAnswer(0, "0"),
        StoredAnswer(0, "0"),
        StoredAnswer(0, "2"),
        StoredAnswer(1, "0,1"),
        StoredAnswer(1, "1"),
        StoredAnswer(2, number=100),
        StoredAnswer(2, number=300),
        StoredAnswer(2, number=120),
        StoredAnswer(3, has_text=True),
        StoredAnswer(3, has_text=False),
        StoredAnswer(9, "0"),  # a question that is not there
    ]
    first, second, third, fourth = rules.summarise([SINGLE, MULTIPLE, number, text], answers)
    assert first.answered == 3
    assert [(o.option, o.count, o.share) for o in first.options] == [
        ("甲", 2, 66.7),
        ("乙", 0, 0.0),
        ("丙", 1, 33.3),
    ]
    # Several choices: shares of those who answered, adding up to more than 100%.
    assert [(o.count, o.share) for o in second.options] == [(1, 50.0), (2, 100.0), (0, 0.0)]
    assert third.answered == 3 and third.numbers == rules.NumberSummary(120.0, 100, 300)
    assert fourth.answered == 1 and fourth.numbers is None
    assert rules.number_text(120.0) == "120" and rules.number_text(2.5) == "2.5"


def test_nobody_answered() -> None:
    [result] = rules.summarise([SINGLE], [])
    assert result.answered == 0 and [o.share for o in result.options] == [0.0, 0.0, 0.0]


def test_reminder_24_hours_before_unless_that_is_in_the_quiet_hours() -> None:
    evening = datetime(2026, 12, 10, 18, tzinfo=SHANGHAI)
    assert rules.reminder_mark(evening, QUIET, SHANGHAI) == datetime(
        2026, 12, 9, 18, tzinfo=SHANGHAI
    )
    early = datetime(2026, 12, 10, 7, tzinfo=SHANGHAI)
    assert rules.reminder_mark(early, QUIET, SHANGHAI) == datetime(
        2026, 12, 8, 20, 30, tzinfo=SHANGHAI
    )


def test_the_housing_template_ships_and_keeps_the_rules() -> None:
    housing = rules.load_templates()["housing"]
    assert housing.title == "住房意向调查"
    prompts = " ".join(q.prompt for q in housing.questions)
    for word in ("片区", "面积", "预算", "首套"):
        assert word in prompts
    assert [q.kind for q in housing.questions] == [
        QuestionKind.SINGLE,
        QuestionKind.SINGLE,
        QuestionKind.NUMBER,
        QuestionKind.SINGLE,
    ]
    assert all(rules.valid_question(q) for q in housing.questions)
    assert not rules.valid_question(Question(QuestionKind.SINGLE, "只有一个", ("甲",)))
    assert not rules.valid_question(Question(QuestionKind.NUMBER, "反了", low=9, high=1))
