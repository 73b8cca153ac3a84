"""SQLModel tables: the roster, Telegram bindings, roles, audit log and conversation state."""

from __future__ import annotations

from datetime import date, datetime
from enum import IntEnum, StrEnum

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


def _timestamp(*, nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(UTCDateTime(), nullable=nullable, index=index)


class Gender(StrEnum):
    """Gender as the roster records it."""

    MALE = "M"
    FEMALE = "F"


class Role(StrEnum):
    """Privileged roles; every bound officer is implicitly an officer."""

    ORGANIZER = "organizer"
    ADMIN = "admin"


class BindingMethod(StrEnum):
    """How a Telegram account came to be bound to a roster entry."""

    CONTACT = "contact"
    APPROVAL = "approval"
    IMPORT = "import"


class Priority(IntEnum):
    """Broadcast priority: lower goes first."""

    URGENT = 0
    NORMAL = 1
    LOW = 2


class BroadcastKind(StrEnum):
    """What a broadcast carries."""

    APPEAL = "appeal"
    ANNOUNCEMENT = "announcement"
    REMINDER = "reminder"
    GREETING = "greeting"


class BroadcastStatus(StrEnum):
    """A broadcast's life: sending until every delivery is settled, or cancelled."""

    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class DeliveryState(StrEnum):
    """One recipient's message: pending → sending → sent, or failed / blocked / cancelled."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"


class CaseStatus(StrEnum):
    """A care case: reported → visited → paid, or declined; a duplicate links to the first."""

    REPORTED = "reported"
    VISITED = "visited"
    PAID = "paid"
    DECLINED = "declined"
    DUPLICATE = "duplicate"


class RequestStatus(StrEnum):
    """States of a manual binding request."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Officer(SQLModel, table=True):
    """One member of the union, as the roster knows them."""

    __tablename__ = "officer"
    __table_args__ = (Index("ix_officer_lunar_birth", "lunar_birth_month", "lunar_birth_day"),)

    id: int | None = Field(default=None, primary_key=True)
    police_id: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=64)
    unit: str = Field(default="", max_length=128)
    phone: str = Field(default="", max_length=20, index=True)
    # Indexed: today's birthdays are picked by exact dates (storage.greetings).
    birthday: date | None = Field(default=None, index=True)
    gender: str | None = Field(default=None, max_length=1)
    blood_group: str | None = Field(default=None, max_length=2)
    rh_negative: bool = False
    active: bool = True
    single_opt_in: bool = False
    greetings_opt_out: bool = False
    # Set when the officer chose to be greeted on their lunar birthday (bot.rules.calendar);
    # indexed with the day, so today's lunar birthdays are found without a scan.
    lunar_birth_month: int | None = None
    lunar_birth_day: int | None = None
    lunar_birth_leap: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    left_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))


class TelegramBinding(SQLModel, table=True):
    """The one Telegram account an officer uses; at most one each way."""

    __tablename__ = "telegram_binding"

    id: int | None = Field(default=None, primary_key=True)
    officer_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("officer.id", ondelete="CASCADE"), unique=True, nullable=False
        )
    )
    telegram_user_id: int = Field(sa_column=Column(BigInteger, unique=True, nullable=False))
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    method: str = Field(default=BindingMethod.CONTACT, max_length=16)
    bound_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    # Set when Telegram answered 403 (the officer blocked the bot); cleared when they write again.
    unreachable_since: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))


class RoleGrant(SQLModel, table=True):
    """A privileged role held by an officer."""

    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("officer_id", "role", name="uq_role_grant_officer_role"),)

    id: int | None = Field(default=None, primary_key=True)
    officer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("officer.id", ondelete="CASCADE"), nullable=False)
    )
    role: str = Field(max_length=16)
    granted_by: str = Field(default="", max_length=64)
    granted_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class AuditEntry(SQLModel, table=True):
    """Who did what to whom, and when; never holds health details or phone numbers."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(index=True))
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64, index=True)
    target: str = Field(default="", max_length=128)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class BindingRequest(SQLModel, table=True):
    """A stranger whose phone is not on the roster, waiting for an organizer's decision."""

    __tablename__ = "binding_request"

    id: int | None = Field(default=None, primary_key=True)
    telegram_user_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    telegram_name: str = Field(default="", max_length=128)
    phone: str = Field(max_length=20)
    claimed_police_id: str = Field(max_length=32)
    claimed_name: str = Field(max_length=64)
    status: str = Field(default=RequestStatus.PENDING, max_length=16, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    decided_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    decided_by: str = Field(default="", max_length=64)
    officer_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("officer.id", ondelete="SET NULL"), nullable=True),
    )


class BindingAttempt(SQLModel, table=True):
    """A failed binding attempt, counted against the hourly limit."""

    __tablename__ = "binding_attempt"
    __table_args__ = (Index("ix_binding_attempt_user_at", "telegram_user_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    telegram_user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    reason: str = Field(max_length=32)


class ConversationState(SQLModel, table=True):
    """Where a user stands in a conversation, and the draft so far; survives a crash."""

    __tablename__ = "conversation_state"

    name: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=64)
    state: str = Field(max_length=64)
    draft: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class Broadcast(SQLModel, table=True):
    """One message to many officers: an appeal, announcement, reminder or greeting run."""

    __tablename__ = "broadcast"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    priority: int = Field(default=Priority.NORMAL)
    text: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default=BroadcastStatus.SENDING, max_length=16, index=True)
    created_by: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    finished_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    total: int = 0
    # Where the organizer watches progress: their chat and the message edited there.
    progress_chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    progress_message_id: int | None = None
    # JSON of an inline keyboard sent with every delivery (an appeal's answer buttons), or None.
    buttons: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # After this moment nothing of it goes out any more (a greeting's day, an event's start).
    expires_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))


class Delivery(SQLModel, table=True):
    """One recipient of one broadcast; (broadcast, officer) is unique so nobody is queued twice."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "officer_id", name="uq_delivery_broadcast_officer"),
        Index("ix_delivery_queue", "state", "priority", "next_attempt_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    broadcast_id: int = Field(
        sa_column=Column(Integer, ForeignKey("broadcast.id", ondelete="CASCADE"), nullable=False)
    )
    officer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("officer.id", ondelete="CASCADE"), nullable=False)
    )
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    priority: int = Field(default=Priority.NORMAL)
    state: str = Field(default=DeliveryState.PENDING, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    sent_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    message_id: int | None = None
    error: str = Field(default="", max_length=200)
    # This recipient's own text (a greeting with their name); None: the broadcast's text.
    text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class CareCase(SQLModel, table=True):
    """A reported life event of an officer, from report to paid condolence.

    The ward and the note are health details, and so may be the reasons for paying another sum
    or declining: stored encrypted (storage.crypto, listed in storage.sealed), never logged.
    Reasons written before migration 0009 sit in clear in the legacy columns until the bot's
    first start seals them (storage.care.seal_plain_reasons); storage.care reads either.
    """

    __tablename__ = "care_case"
    __table_args__ = (Index("ix_care_case_officer_event", "officer_id", "event"),)

    id: int | None = Field(default=None, primary_key=True)
    officer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("officer.id", ondelete="CASCADE"), nullable=False)
    )
    reporter_id: int = Field(
        sa_column=Column(Integer, ForeignKey("officer.id", ondelete="CASCADE"), nullable=False)
    )
    event: str = Field(max_length=24)
    event_date: date
    relation: str = Field(default="", max_length=24)
    hospital: str = Field(default="", max_length=100)
    ward_cipher: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    note_cipher: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    policy_amount: int = 0
    up_to: bool = False
    status: str = Field(default=CaseStatus.REPORTED, max_length=16, index=True)
    duplicate_of: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("care_case.id", ondelete="SET NULL"), nullable=True),
    )
    paid_amount: int | None = None
    pay_reason_cipher: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    decline_reason_cipher: str = Field(
        default="", sa_column=Column(Text, nullable=False, default="")
    )
    # Before 0009, in clear; emptied once sealed into the columns above.
    legacy_pay_reason: str = Field(
        default="", sa_column=Column("adjust_reason", String(200), nullable=False, default="")
    )
    legacy_decline_reason: str = Field(
        default="", sa_column=Column("decline_reason", String(200), nullable=False, default="")
    )
    reported_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp(index=True))
    visited_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    visited_by: str = Field(default="", max_length=64)
    paid_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    paid_by: str = Field(default="", max_length=64)
    declined_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    declined_by: str = Field(default="", max_length=64)


class BloodDonation(SQLModel, table=True):
    """What one officer gave on one day: whole blood, platelets or plasma.

    `amount` is millilitres for whole blood and plasma, therapeutic units (治疗量) for platelets.
    The same officer, day and component are recorded once only.
    """

    __tablename__ = "blood_donation"
    __table_args__ = (
        UniqueConstraint(
            "officer_id", "donated_on", "component", name="uq_blood_donation_officer_day_component"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    officer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("officer.id", ondelete="CASCADE"), nullable=False)
    )
    donated_on: date = Field(index=True)
    component: str = Field(max_length=16)
    amount: int
    # The drive it was given at. No foreign key yet: blood drives are a later table; the key
    # is added with it.
    drive_id: int | None = None
    recorded_by: str = Field(max_length=64)
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class DriveStatus(StrEnum):
    """A blood drive is open for sign-ups until it is cancelled."""

    OPEN = "open"
    CANCELLED = "cancelled"


class SignupState(StrEnum):
    """An officer's place at a drive: signed up, on the waitlist, or cancelled."""

    SIGNED = "signed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class BloodDrive(SQLModel, table=True):
    """A blood drive (献血活动): when and where, how many places, which blood types it wants.

    `blood_types_wanted` is "" for every type, else a comma-separated list such as "O,A".
    `reminded_at` is set when the day-before reminder broadcast was written.
    """

    __tablename__ = "blood_drive"

    id: int | None = Field(default=None, primary_key=True)
    starts_at: datetime = Field(sa_column=_timestamp(index=True))
    place: str = Field(max_length=100)
    capacity: int
    blood_types_wanted: str = Field(default="", max_length=16)
    status: str = Field(default=DriveStatus.OPEN, max_length=16)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    reminded_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))


class DriveSignup(SQLModel, table=True):
    """One officer at one drive; `position` orders sign-ups (and so the waitlist) per drive."""

    __tablename__ = "drive_signup"
    __table_args__ = (
        UniqueConstraint("drive_id", "officer_id", name="uq_drive_signup_drive_officer"),
    )

    id: int | None = Field(default=None, primary_key=True)
    drive_id: int = Field(
        sa_column=Column(Integer, ForeignKey("blood_drive.id", ondelete="CASCADE"), nullable=False)
    )
    officer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("officer.id", ondelete="CASCADE"), nullable=False)
    )
    state: str = Field(default=SignupState.SIGNED, max_length=16)
    position: int
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class AppealStatus(StrEnum):
    """An urgent appeal is open until enough donors are coming, or it is closed."""

    OPEN = "open"
    FULFILLED = "fulfilled"
    CLOSED = "closed"


class AppealAnswer(StrEnum):
    """An officer's answer to an appeal; "arrived" only after "coming"."""

    COMING = "coming"
    CANNOT = "cannot"
    ARRIVED = "arrived"


class BloodAppeal(SQLModel, table=True):
    """An urgent blood appeal (紧急用血呼吁): one blood type and component for one hospital.

    `broadcast_id` is the URGENT broadcast that asked the officers: its deliveries are the asked.
    `tally_chat_id`/`tally_message_id` is the organizer's live tally message.
    """

    __tablename__ = "blood_appeal"

    id: int | None = Field(default=None, primary_key=True)
    blood_group: str = Field(max_length=2)
    rh_negative: bool = False
    component: str = Field(max_length=16)
    hospital: str = Field(max_length=100)
    address: str = Field(max_length=200)
    contact: str = Field(max_length=100)
    units_needed: int
    deadline: datetime = Field(sa_column=_timestamp())
    status: str = Field(default=AppealStatus.OPEN, max_length=16, index=True)
    broadcast_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("broadcast.id", ondelete="SET NULL"), nullable=True),
    )
    tally_chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    tally_message_id: int | None = None
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    closed_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))


class AppealReply(SQLModel, table=True):
    """One officer's current answer to one appeal."""

    __tablename__ = "appeal_reply"
    __table_args__ = (
        UniqueConstraint("appeal_id", "officer_id", name="uq_appeal_reply_appeal_officer"),
    )

    id: int | None = Field(default=None, primary_key=True)
    appeal_id: int = Field(
        sa_column=Column(Integer, ForeignKey("blood_appeal.id", ondelete="CASCADE"), nullable=False)
    )
    officer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("officer.id", ondelete="CASCADE"), nullable=False)
    )
    answer: str = Field(max_length=16)
    at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class SendLedger(SQLModel, table=True):
    """Who was already sent what: one row per (occasion, date, officer), so nobody gets it twice.

    Greetings (occasion "chunjie", "birthday", …) and reminders ("event-24h:7", "drive:3", …)
    claim their rows in the transaction that queues the broadcast: a restart, a second tick or
    a second process finds the row taken and queues nothing.
    """

    __tablename__ = "send_ledger"
    __table_args__ = (
        UniqueConstraint("occasion", "on_date", "officer_id", name="uq_send_ledger_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    occasion: str = Field(max_length=48)
    on_date: date
    # No foreign keys: on PostgreSQL their per-row checks took 2 of the 5 s allowed to queue a
    # festival greeting for 100,000 officers (bench/greetings.py). Officers leave the union by
    # deactivation, never deletion, and the only broadcast ever deleted is one queue_once
    # wrote a moment before and nothing points to.
    officer_id: int
    broadcast_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class GreetingText(SQLModel, table=True):
    """An organizer's edit of a greeting text (and its welfare note); the policy holds defaults."""

    __tablename__ = "greeting_text"

    occasion: str = Field(primary_key=True, max_length=32)
    text: str = Field(sa_column=Column(Text, nullable=False))
    welfare_note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    updated_by: str = Field(max_length=64)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class EventKind(StrEnum):
    """What an event is; the engine treats every kind alike but for matchmaking's privacy."""

    MATCHMAKING = "matchmaking"
    CLASS = "class"
    OUTING = "outing"
    COMPETITION = "competition"
    CLUB_ACTIVITY = "club_activity"


class Audience(StrEnum):
    """Who may see and join an event; `audience_value` names the unit or club."""

    EVERYONE = "everyone"
    UNIT = "unit"
    CLUB = "club"
    SINGLES = "singles"
    WOMEN = "women"
    MEN = "men"


class EventStatus(StrEnum):
    """An event is open until it is cancelled."""

    OPEN = "open"
    CANCELLED = "cancelled"


class Event(SQLModel, table=True):
    """A union event: a matchmaking party, class, outing, competition or club activity.

    `male_cap`/`female_cap` limit places per gender (matchmaking); None means no cap.
    """

    __tablename__ = "event"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    title: str = Field(max_length=100)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    starts_at: datetime = Field(sa_column=_timestamp(index=True))
    ends_at: datetime = Field(sa_column=_timestamp())
    place: str = Field(max_length=100)
    capacity: int
    signup_deadline: datetime = Field(sa_column=_timestamp())
    audience: str = Field(default=Audience.EVERYONE, max_length=16)
    audience_value: str = Field(default="", max_length=128)
    male_cap: int | None = None
    female_cap: int | None = None
    waitlist: bool = True
    status: str = Field(default=EventStatus.OPEN, max_length=16, index=True)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class EventSignup(SQLModel, table=True):
    """One officer at one event; `position` orders sign-ups (and the waitlist) per event.

    `gender` is copied from the roster at sign-up so gender caps count without a join;
    `attended` is None until an organizer marks the officer present (True) or absent (False).
    """

    __tablename__ = "event_signup"
    __table_args__ = (
        UniqueConstraint("event_id", "officer_id", name="uq_event_signup_event_officer"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(
        sa_column=Column(Integer, ForeignKey("event.id", ondelete="CASCADE"), nullable=False)
    )
    officer_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("officer.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    state: str = Field(default=SignupState.SIGNED, max_length=16)
    position: int
    gender: str | None = Field(default=None, max_length=1)
    attended: bool | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class ClubMembership(SQLModel, table=True):
    """An officer in one of the policy's clubs; a leader posts its activities and notices."""

    __tablename__ = "club_membership"
    __table_args__ = (UniqueConstraint("club", "officer_id", name="uq_club_membership"),)

    id: int | None = Field(default=None, primary_key=True)
    club: str = Field(max_length=64, index=True)
    officer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("officer.id", ondelete="CASCADE"), nullable=False)
    )
    leader: bool = False
    joined_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class InboxUpdate(SQLModel, table=True):
    """An update from Telegram, stored before it is acknowledged and handled from here once.

    `handled_at` is set in the transaction that holds everything the update changed, so after a
    crash an update is either wholly handled or not at all.
    """

    __tablename__ = "update_inbox"

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    user_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    # The update's JSON, sealed with NUANJING_SECRET_KEY: officers type health details.
    payload: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    handled_at: datetime | None = Field(
        default=None, sa_column=_timestamp(nullable=True, index=True)
    )


class PendingReply(SQLModel, table=True):
    """A Bot API call an update's handling made, written with the update's changes.

    Delivered after the commit and deleted once Telegram took it; what a crash left behind is
    delivered on restart, so no prompt of a committed step goes unsent.
    """

    __tablename__ = "pending_reply"

    id: int | None = Field(default=None, primary_key=True)
    update_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    # The method, its parameters and files as JSON, sealed like the inbox.
    payload: str = Field(sa_column=Column(Text, nullable=False))
    # What to record once the call returned (e.g. the message id of an appeal's tally).
    on_sent: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class Lease(SQLModel, table=True):
    """A named lease one process holds (the poller and sender), renewed while it lives."""

    __tablename__ = "lease"

    name: str = Field(primary_key=True, max_length=32)
    holder: str = Field(max_length=128)
    acquired_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    expires_at: datetime = Field(sa_column=_timestamp())


class Setting(SQLModel, table=True):
    """Values the installation keeps about itself (e.g. the secret key's check value)."""

    __tablename__ = "app_setting"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_column=Column(Text, nullable=False))


class SlotStatus(StrEnum):
    """A slot of a service is open for booking, or closed by its staff."""

    OPEN = "open"
    CLOSED = "closed"


class ServiceSlot(SQLModel, table=True):
    """One slot of a bookable service (storage.bookings), written when first booked or closed.

    The policy says which slots a service has (bot.rules.slots); a row only records what
    happened to one: its places as they were when it was first booked, and whether its staff
    closed it.
    """

    __tablename__ = "service_slot"
    __table_args__ = (
        UniqueConstraint("service_key", "starts_at", name="uq_service_slot_service_start"),
    )

    id: int | None = Field(default=None, primary_key=True)
    service_key: str = Field(max_length=32, index=True)
    starts_at: datetime = Field(sa_column=_timestamp(index=True))
    ends_at: datetime = Field(sa_column=_timestamp())
    places: int
    status: str = Field(default=SlotStatus.OPEN, max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class Booking(SQLModel, table=True):
    """One officer's booking of one slot; `position` orders bookings (and the waitlist).

    `pseudonym_cipher` (sealed) is the name a counselling booking goes by: the counsellor sees it
    instead of the officer's. `service_key` repeats the slot's, for the per-service limits.
    """

    __tablename__ = "booking"
    __table_args__ = (UniqueConstraint("slot_id", "officer_id", name="uq_booking_slot_officer"),)

    id: int | None = Field(default=None, primary_key=True)
    slot_id: int = Field(
        sa_column=Column(Integer, ForeignKey("service_slot.id", ondelete="CASCADE"), nullable=False)
    )
    officer_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("officer.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    service_key: str = Field(max_length=32)
    state: str = Field(default=SignupState.SIGNED, max_length=16)
    position: int
    attended: bool | None = None
    pseudonym_cipher: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class ServiceStaff(SQLModel, table=True):
    """An officer who staffs a service (its doctor, counsellor, attendant): granted by admins."""

    __tablename__ = "service_staff"
    __table_args__ = (
        UniqueConstraint("officer_id", "service_key", name="uq_service_staff_officer_service"),
    )

    id: int | None = Field(default=None, primary_key=True)
    officer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("officer.id", ondelete="CASCADE"), nullable=False)
    )
    service_key: str = Field(max_length=32)
    granted_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class RosterNote(SQLModel, table=True):
    """An officer's note that a roster field of theirs is wrong, for organizers to fix.

    `text_cipher` (sealed: it may hold a birthday, a blood type) is at most 100 characters. An
    officer has at most one pending note (`resolved_at` empty) at a time.
    """

    __tablename__ = "roster_note"

    id: int | None = Field(default=None, primary_key=True)
    officer_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("officer.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    text_cipher: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    resolved_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    resolved_by: str | None = Field(default=None, max_length=64)
