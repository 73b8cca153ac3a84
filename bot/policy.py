"""The union's policy file (TOML): names, units, clubs, sums, intervals and texts."""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable
from datetime import date, time, timedelta
from enum import StrEnum
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from bot import texts as words
from bot.rules.calendar import DEFAULT_OCCASIONS, OccasionKind, OccasionRule
from bot.rules.nominations import Terms as NominationTerms
from bot.settings import SettingsError

CareEvent = Literal[
    "hospitalization", "marriage", "childbirth", "retirement", "relative_death", "officer_death"
]


class BindingPolicy(BaseModel):
    """Limits of the binding flow."""

    max_failed_attempts_per_hour: int = Field(default=5, ge=1)
    max_police_id_tries: int = Field(default=3, ge=1)


class CareRule(BaseModel):
    """One condolence sum, in force for events from its effective date."""

    event: CareEvent
    effective_from: date
    amount: int = Field(ge=0)
    up_to: bool = False


class CarePolicy(BaseModel):
    """Condolence sums by event type."""

    rules: list[CareRule] = Field(default_factory=list)
    # Since when /cases stats counts the officers comforted (the seed programme's new rules).
    comforted_since: date = date(2018, 9, 1)


class BloodPolicy(BaseModel):
    """Donor intervals and ages."""

    whole_after_whole_days: int = 180
    platelets_after_whole_days: int = 90
    platelets_after_platelets_days: int = 14
    whole_after_platelets_days: int = 28
    max_platelet_donations_per_year: int = 24
    min_age: int = 18
    max_age_first_time: int = 55
    max_age_repeat: int = 60


# The occasion key of birthdays, in the ledger and the policy's texts: no festival may take it.
BIRTHDAY = "birthday"
# An occasion's key: an ascii slug, short enough for a button's callback data.
OCCASION_KEY_PATTERN = r"^[a-z][a-z0-9_-]{1,31}$"


class Audience(StrEnum):
    """Who an occasion greets."""

    ALL = "all"
    WOMEN = "women"  # officers whose roster gender is F


class GreetingOccasion(BaseModel):
    """A festival greeted by the bot (the policy's `[[greetings.occasions]]`).

    Its date is a solar date (month, day), a lunar date (month, day), a solar term (`term`, its
    Chinese name such as 清明) or 除夕 (`lunar_new_year_eve`, the lunar year's last day).
    """

    # An ascii slug, stable: organizers' edited texts and the send ledger are keyed by it.
    key: str = Field(pattern=OCCASION_KEY_PATTERN)
    name: str = Field(min_length=1, max_length=20)
    kind: OccasionKind
    month: int | None = None
    day: int | None = None
    term: str | None = None
    audience: Audience = Audience.ALL
    enabled: bool = Field(default=True, strict=True)  # TOML true or false, not "yes"
    # The default text; it may instead be given in [greetings.texts] under the key.
    text: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _check(self) -> GreetingOccasion:
        if self.key == BIRTHDAY:
            raise ValueError(f"the key {BIRTHDAY} is the birthdays' own: give the occasion another")
        try:
            self.rule()
        except ValueError as exc:
            raise ValueError(f"occasion {self.key}: {exc}") from None
        return self

    def rule(self) -> OccasionRule:
        """When it falls, for the calendar's rules."""
        return OccasionRule(self.key, self.kind, self.month or 0, self.day or 0, self.term or "")


def default_occasions() -> list[GreetingOccasion]:
    """The eight festivals greeted when the policy lists no occasions."""
    return [
        GreetingOccasion(
            key=rule.key,
            name=words.FESTIVAL_NAMES[rule.key],
            kind=rule.kind,
            month=rule.month or None,
            day=rule.day or None,
            term=rule.term or None,
        )
        for rule in DEFAULT_OCCASIONS
    ]


class GreetingPolicy(BaseModel):
    """When greetings go out, on which occasions, and what they say."""

    send_at: str = "09:00"
    quiet_from: str = "21:00"
    quiet_until: str = "08:00"
    texts: dict[str, str] = Field(default_factory=dict)
    # Default welfare notes (where to collect the festival gift…), one line under the greeting.
    notes: dict[str, str] = Field(default_factory=dict)
    # The festivals, in the order they are listed when two share a day; none given: the eight.
    occasions: list[GreetingOccasion] = Field(default_factory=default_occasions)

    @model_validator(mode="after")
    def _check_occasions(self) -> GreetingPolicy:
        _refuse_repeats("occasion key", (occasion.key for occasion in self.occasions))
        _refuse_repeats("occasion name", (occasion.name for occasion in self.occasions))
        for occasion in self.occasions:
            if occasion.text is None:
                continue
            if self.texts.get(occasion.key, occasion.text) != occasion.text:
                raise ValueError(
                    f"the text of occasion {occasion.key} is given twice, in its entry and in "
                    "[greetings.texts]: keep one"
                )
            self.texts[occasion.key] = occasion.text
        return self

    def enabled(self) -> list[GreetingOccasion]:
        """The occasions greeted, in the policy's order."""
        return [occasion for occasion in self.occasions if occasion.enabled]

    def rules(self) -> tuple[OccasionRule, ...]:
        """The calendar's rules of the occasions greeted, in the policy's order."""
        return tuple(occasion.rule() for occasion in self.enabled())

    def occasion(self, key: str) -> GreetingOccasion | None:
        """The occasion with this key, enabled or not, if the policy has it."""
        return next((occasion for occasion in self.occasions if occasion.key == key), None)

    def name_of(self, key: str) -> str:
        """The name greetings and organizers see for an occasion key (生日 for birthdays)."""
        occasion = self.occasion(key)
        if occasion is not None:
            return occasion.name
        return words.FESTIVAL_NAMES.get(key, key)


# --- Working days (调休) ---------------------------------------------------------------------

# The years a work calendar may name (those of the greeting calendar): another is a typo.
FIRST_WORK_YEAR = 1950
LAST_WORK_YEAR = 2099
_DAY_RANGE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})\s*$")


def _days(value: Any) -> Any:
    """A list of days as the policy may write them: dates, "YYYY-MM-DD" or a range
    "YYYY-MM-DD..YYYY-MM-DD" (both ends included), as a flat list of dates."""
    if not isinstance(value, list):
        return value  # pydantic says what is wrong with it
    days: list[Any] = []
    for item in value:
        found = _DAY_RANGE.match(item) if isinstance(item, str) else None
        if found is None:
            days.append(item)
            continue
        try:
            first, last = (date.fromisoformat(found.group(n)) for n in (1, 2))
        except ValueError:
            raise ValueError(f"{item!r} is not a range of two dates") from None
        if last < first:
            raise ValueError(f"the range {item!r} ends before it starts")
        if last.year != first.year:
            raise ValueError(f"the range {item!r} is not within one year")
        days.extend(first + timedelta(days=n) for n in range((last - first).days + 1))
    return days


class WorkYear(BaseModel):
    """One year's official arrangement of holidays and make-up working days (调休).

    `days_off` are all the days of the holidays the notice lists (weekend days among them
    included); `working_days` are its make-up working days, each a Saturday or a Sunday. Every
    other day follows the week: Monday to Friday work, Saturday and Sunday off.
    """

    year: int = Field(ge=FIRST_WORK_YEAR, le=LAST_WORK_YEAR)
    # Where the arrangement comes from: the notice's name, date and address.
    source: str = Field(min_length=1)
    days_off: list[date] = Field(default_factory=list)
    working_days: list[date] = Field(default_factory=list)

    @field_validator("days_off", "working_days", mode="before")
    @classmethod
    def _expand_days(cls, value: Any) -> Any:
        return _days(value)

    @model_validator(mode="after")
    def _check_days(self) -> WorkYear:
        for day in [*self.days_off, *self.working_days]:
            if day.year != self.year:
                raise ValueError(f"{day} is not in {self.year}")
        both = sorted(set(self.days_off) & set(self.working_days))
        if both:
            raise ValueError(f"{both[0]} is both a day off (休) and a working day (班)")
        for day in self.working_days:
            if day.weekday() < 5:
                raise ValueError(
                    f"working day {day} is not a Saturday or Sunday (weekdays work anyway)"
                )
        self.days_off = sorted(set(self.days_off))
        self.working_days = sorted(set(self.working_days))
        return self


class WorkdaysPolicy(BaseModel):
    """Years of official working days the union adds (or corrects): each replaces the
    arrangement shipped with the bot for its year (bot/data/workdays.toml)."""

    years: list[WorkYear] = Field(default_factory=list)

    @field_validator("years")
    @classmethod
    def _unique_years(cls, years: list[WorkYear]) -> list[WorkYear]:
        _refuse_repeats("year", (str(item.year) for item in years))
        return years


# --- Services by booking (预约): health room, counselling, facilities ------------------------


class ServiceKind(StrEnum):
    """What a bookable service is; bot.texts.SERVICE_KINDS names each."""

    HEALTH_ROOM = "health_room"
    COUNSELLING = "counselling"
    FACILITY = "facility"


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# In date.weekday() order: WEEKDAY_KEYS[day.weekday()] is the day's key in `hours`.
WEEKDAY_KEYS: tuple[Weekday, ...] = get_args(Weekday)
_WINDOW = re.compile(r"^\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$")
MIN_SLOT_MINUTES = 5
MAX_SLOT_MINUTES = 8 * 60


def parse_window(text: str) -> tuple[time, time]:
    """An opening window "HH:MM-HH:MM" as (start, end); ValueError if it is not one."""
    found = _WINDOW.match(text)
    if found is None:
        raise ValueError(f"{text!r} is not an opening window like 08:30-12:00")
    try:
        start, end = (time.fromisoformat(found.group(n).zfill(5)) for n in (1, 2))
    except ValueError:
        raise ValueError(f"{text!r} holds a time that does not exist") from None
    if end <= start:
        raise ValueError(f"{text!r} ends before it starts")
    return start, end


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


class BookingLimits(BaseModel):
    """How much one officer may book of one service; None for no limit."""

    # Bookings not yet past (and not cancelled) at one time.
    open_bookings: int | None = Field(default=None, ge=1)
    # Bookings in one week, Monday to Sunday (the week of the booked slot).
    per_week: int | None = Field(default=None, ge=1)


class NoShowRule(BaseModel):
    """Missed bookings block booking: `count` within `within_days` block for `blocked_days`."""

    count: int = Field(default=3, ge=1)
    within_days: int = Field(default=90, ge=1)
    blocked_days: int = Field(default=30, ge=1)


class ServicePolicy(BaseModel):
    """One bookable service: where and when it opens, its slots and its rules.

    Staff (the doctor, the counsellors) are officers granted the service's role by an admin;
    the policy holds only how they are shown (`staff_title`).
    """

    key: str = Field(pattern=r"^[a-z][a-z0-9-]{1,31}$")  # ascii slug, stable: bookings use it
    name: str = Field(min_length=1, max_length=20)
    kind: ServiceKind
    place: str = Field(min_length=1, max_length=100)
    # Opening windows per weekday ("mon" … "sun"), e.g. mon = ["08:30-12:00", "14:30-17:30"].
    hours: dict[Weekday, list[str]]
    slot_minutes: int = Field(ge=MIN_SLOT_MINUTES, le=MAX_SLOT_MINUTES)
    places_per_slot: int = Field(ge=1, le=1000)
    # How many days ahead officers may book (today + horizon_days is the last day).
    horizon_days: int = Field(default=14, ge=0, le=366)
    # An officer may cancel until this many minutes before the slot starts.
    cancel_before_minutes: int = Field(default=0, ge=0)
    limits: BookingLimits = Field(default_factory=BookingLimits)
    no_show: NoShowRule | None = Field(default_factory=NoShowRule)
    # Open only on official working days (the State Council's arrangement): the health room
    # and counselling. Default: True, except for facilities, which may open on weekends.
    follows_workdays: bool = True
    # A weekend working day (调休上班) with no hours of its own keeps this weekday's hours.
    makeup_days_like: Weekday = "mon"
    staff_title: str = Field(default="", max_length=20)  # e.g. 值班医生, 心理咨询师
    equipment: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> ServicePolicy:
        if "follows_workdays" not in self.model_fields_set:
            self.follows_workdays = self.kind is not ServiceKind.FACILITY
        if not any(self.hours.values()):
            raise ValueError(f"service {self.key} opens on no day: give its hours")
        for weekday, texts in self.hours.items():
            windows = sorted(parse_window(text) for text in texts)
            for start, end in windows:
                if _minutes(end) - _minutes(start) < self.slot_minutes:
                    raise ValueError(
                        f"{weekday} {start:%H:%M}-{end:%H:%M} of service {self.key} is "
                        f"shorter than one slot ({self.slot_minutes} minutes)"
                    )
            for (_, end), (start, _) in pairwise(windows):
                if start < end:
                    raise ValueError(f"{weekday} of service {self.key} has overlapping hours")
        return self

    def windows(self, weekday: Weekday) -> list[tuple[time, time]]:
        """The opening windows of a weekday, in order."""
        return sorted(parse_window(text) for text in self.hours.get(weekday, []))


# --- Nominations by quota (推荐与评选): retreats and honours ---------------------------------


class HonourTitle(BaseModel):
    """An honour the union nominates for (评先评优), e.g. 株洲市五一劳动奖章."""

    key: str = Field(pattern=OCCASION_KEY_PATTERN)  # ascii slug, stable: the register uses it
    name: str = Field(min_length=1, max_length=30)
    # The same title is not given again to an officer within this many years (0: no limit).
    years: int = Field(default=5, ge=0, le=100)


def _default_honours() -> list[HonourTitle]:
    return [
        HonourTitle(key="city-advanced", name="株洲市先进工作者", years=5),
        HonourTitle(key="city-may-day", name="株洲市五一劳动奖章", years=5),
    ]


class NominationPolicy(BaseModel):
    """Rules of nominations by quota (bot.rules.nominations): retreats (疗休养) and honours."""

    # Not on a retreat within this many years (counted from the retreat's first day).
    retreat_years: int = Field(default=3, ge=0, le=50)
    # On the roster at least this many years before a retreat.
    roster_years: int = Field(default=1, ge=0, le=50)
    # The approved list is open to objections (公示) for this many days.
    publicity_days: int = Field(default=5, ge=1, le=60)
    # The highest daily allowance per person a retreat round may set, in yuan.
    daily_allowance_cap: int = Field(default=500, ge=0, le=100_000)
    # A retreat batch lasts at most this many days, travel included.
    retreat_max_days: int = Field(default=5, ge=1, le=60)
    objection_max_chars: int = Field(default=1000, ge=1, le=4000)
    honour_reason_max_chars: int = Field(default=500, ge=1, le=4000)
    honours: list[HonourTitle] = Field(default_factory=_default_honours)

    @field_validator("honours")
    @classmethod
    def _unique_titles(cls, honours: list[HonourTitle]) -> list[HonourTitle]:
        _refuse_repeats("honour key", (title.key for title in honours))
        _refuse_repeats("honour name", (title.name for title in honours))
        return honours

    def honour(self, key: str) -> HonourTitle | None:
        """The honour title with this key, if the policy has it."""
        return next((title for title in self.honours if title.key == key), None)

    def terms(self) -> NominationTerms:
        """The figures storage.nominations and the rules work with."""
        return NominationTerms(
            retreat_years=self.retreat_years,
            roster_years=self.roster_years,
            publicity_days=self.publicity_days,
            daily_allowance_cap=self.daily_allowance_cap,
            retreat_max_days=self.retreat_max_days,
            objection_max_chars=self.objection_max_chars,
            honour_reason_max_chars=self.honour_reason_max_chars,
            title_years={title.key: title.years for title in self.honours},
        )


# --- Medical mutual aid (医疗互助) ------------------------------------------------------------


class MutualAidScheme(BaseModel):
    """A medical mutual-aid scheme the union enrols its members in (职工住院医疗互助…).

    The roster does not tell officers from auxiliaries (辅警): a scheme covers every active
    member on it (or the women among them), as the seed's union enrols both.
    """

    # An ascii slug, stable: enrolments and claims are keyed by it, and buttons carry it.
    key: str = Field(pattern=r"^[a-z][a-z0-9-]{1,15}$")
    name: str = Field(min_length=1, max_length=30)
    # Who is covered: everyone, or women only (roster gender F).
    covers: Audience = Audience.ALL
    # What it pays, in a short sentence members read in /me and in the claim reminder.
    pays: str = Field(min_length=1, max_length=100)
    # The documents a claim needs (出院小结、住院发票…), in the order to gather them.
    documents: list[str] = Field(min_length=1, max_length=15)
    # The one year it runs; left out, every year until the policy says otherwise.
    year: int | None = Field(default=None, ge=2000, le=2099)

    def runs_in(self, year: int) -> bool:
        """True if the scheme enrols members in this year."""
        return self.year is None or self.year == year


def _default_mutual_aid_schemes() -> list[MutualAidScheme]:
    documents = ["出院小结", "住院发票", "费用清单", "身份证复印件", "银行卡复印件"]
    return [
        MutualAidScheme(
            key="inpatient",
            name="职工住院医疗互助",
            pays="住院医疗费用按比例给付，每个互助期最高5万元",
            documents=documents,
        ),
        MutualAidScheme(
            key="women-disease",
            name="女职工特殊疾病互助",
            covers=Audience.WOMEN,
            pays="确诊女职工特殊疾病（如乳腺癌、宫颈癌）一次性给付",
            documents=["诊断证明", "病理报告", "住院发票", "身份证复印件", "银行卡复印件"],
        ),
    ]


class MutualAidPolicy(BaseModel):
    """Medical mutual aid (bot.rules.mutual_aid): the schemes and the figures of claims."""

    # The claim reminder goes out this many days after a reported admission (the discharge
    # is not known to the bot).
    claim_reminder_days: int = Field(default=7, ge=1, le=90)
    # The most one claim may pay, in yuan (the Fuzhou scheme's cap per cycle is 50,000).
    claim_cap: int = Field(default=50_000, ge=1, le=10_000_000)
    schemes: list[MutualAidScheme] = Field(default_factory=_default_mutual_aid_schemes)

    @field_validator("schemes")
    @classmethod
    def _unique_schemes(cls, schemes: list[MutualAidScheme]) -> list[MutualAidScheme]:
        _refuse_repeats("mutual-aid scheme key", (scheme.key for scheme in schemes))
        return schemes

    def of_year(self, year: int) -> list[MutualAidScheme]:
        """The schemes that run in this year, in the policy's order."""
        return [scheme for scheme in self.schemes if scheme.runs_in(year)]

    def scheme(self, key: str) -> MutualAidScheme | None:
        """The scheme with this key, if the policy has it."""
        return next((scheme for scheme in self.schemes if scheme.key == key), None)


# --- Distributions (物资与消费券发放) ---------------------------------------------------------


class DistributionPolicy(BaseModel):
    """Distributions (bot/jobs/distributions.py): when the one reminder goes by itself."""

    # Days after publishing when those not yet confirmed are reminded once (0: only by hand).
    reminder_days: int = Field(default=3, ge=0, le=60)


# --- Charity (慈善一日捐) ---------------------------------------------------------------------


class CharityPolicy(BaseModel):
    """Charity campaigns (bot.rules.charity): the largest single pledge or payment, in yuan."""

    amount_cap: int = Field(default=100_000, ge=1, le=10_000_000)


def _refuse_repeats(what: str, values: Iterable[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value} is given twice")
        seen.add(value)


class Policy(BaseModel):
    """Everything a union configures about its programme."""

    union_name: str = Field(min_length=1)
    bot_name: str = "暖警"
    units: list[str] = Field(default_factory=list)
    clubs: list[str] = Field(default_factory=list)
    binding: BindingPolicy = Field(default_factory=BindingPolicy)
    care: CarePolicy = Field(default_factory=CarePolicy)
    blood: BloodPolicy = Field(default_factory=BloodPolicy)
    greetings: GreetingPolicy = Field(default_factory=GreetingPolicy)
    workdays: WorkdaysPolicy = Field(default_factory=WorkdaysPolicy)
    services: list[ServicePolicy] = Field(default_factory=list)
    nominations: NominationPolicy = Field(default_factory=NominationPolicy)
    mutual_aid: MutualAidPolicy = Field(default_factory=MutualAidPolicy)
    distributions: DistributionPolicy = Field(default_factory=DistributionPolicy)
    charity: CharityPolicy = Field(default_factory=CharityPolicy)

    @field_validator("services")
    @classmethod
    def _unique_services(cls, services: list[ServicePolicy]) -> list[ServicePolicy]:
        _refuse_repeats("service key", (service.key for service in services))
        _refuse_repeats("service name", (service.name for service in services))
        return services

    def service(self, key: str) -> ServicePolicy | None:
        """The service with this key, if the policy has it."""
        return next((service for service in self.services if service.key == key), None)


def default_policy_text() -> str:
    """The seed policy shipped inside the package."""
    return resources.files("bot").joinpath("data/policy.toml").read_text(encoding="utf-8")


def policy_text_without_quiet_hours() -> str:
    """The shipped policy with no quiet hours (quiet_until = quiet_from).

    For bots that must send at any hour of the day: benchmarks and end-to-end tests that run
    `nuanjing run` as a separate process, whatever the time in Shanghai.
    """
    data = tomllib.loads(default_policy_text())
    start = data["greetings"]["quiet_from"]
    return re.sub(
        r'(?m)^quiet_until = ".*"$', f'quiet_until = "{start}"', default_policy_text(), count=1
    )


@functools.cache
def _default_policy_data() -> dict[str, Any]:
    """The shipped policy parsed once a process: reading TOML is most of a load's time, and
    validation makes a new Policy (new lists and tables) from it each time."""
    return tomllib.loads(default_policy_text())


def load_policy(path: Path | None) -> Policy:
    """Load the policy file (or the shipped default), or raise SettingsError in one sentence."""
    if path is None:
        return Policy.model_validate(_default_policy_data())
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(
            f"NUANJING_POLICY_FILE cannot be read: {path} ({exc.strerror or exc})."
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"NUANJING_POLICY_FILE is not valid TOML: {path} ({exc}).") from None
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the file"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(
            f"NUANJING_POLICY_FILE has a bad value at {where}: {message} ({path})."
        ) from None
