"""SQLModel tables: the roster, Telegram bindings, roles, audit log and conversation state."""

from __future__ import annotations

from datetime import date, datetime
from enum import IntEnum, StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from storage.enums import Role as Role  # re-exported: the roles beside the tables
from storage.types import UTCDateTime, utcnow


def _timestamp(*, nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(UTCDateTime(), nullable=nullable, index=index)


class Gender(StrEnum):
    """Gender as the roster records it."""

    MALE = "M"
    FEMALE = "F"


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
    # /me's 🔕 toggles of issue 16: an organizer's monthly digest, anyone's New Year card.
    digest_opt_out: bool = False
    year_card_opt_out: bool = False
    # Set when the officer chose to be greeted on their lunar birthday (bot.rules.calendar);
    # indexed with the day, so today's lunar birthdays are found without a scan.
    lunar_birth_month: int | None = None
    lunar_birth_day: int | None = None
    lunar_birth_leap: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    left_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    # Set when the officer changed their phone in chat (/me); a roster import keeps that phone.
    phone_changed_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    # Set when an organizer confirmed the officer's death: no message goes to them any more.
    deceased_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))


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


class BindingRequestCopy(SQLModel, table=True):
    """One organizer's copy of a binding request card: edited when anyone decides it."""

    __tablename__ = "binding_request_copy"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("binding_request.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    # Known once Telegram took the message (bot/inbox.py records it after the commit).
    message_id: int | None = None


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
    `announcement_id` is the broadcast that announced it: stopped if the drive is cancelled
    or moved before it has gone out to everyone.
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
    announcement_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("broadcast.id", ondelete="SET NULL"), nullable=True),
    )


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
        # A delivery's claim (storage.ledger.day_of) and an officer's year card's greetings.
        Index("ix_send_ledger_broadcast_officer", "broadcast_id", "officer_id"),
        Index("ix_send_ledger_officer_date", "officer_id", "on_date"),
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
    __table_args__ = (Index("ix_update_inbox_user_update", "user_id", "update_id"),)

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    user_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    # The update's JSON, sealed with NUANJING_SECRET_KEY: officers type health details.
    payload: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    handled_at: datetime | None = Field(
        default=None, sa_column=_timestamp(nullable=True, index=True)
    )
    # With several instances (bot/cluster.py): the instance that received the update, then the
    # one that handled it and makes its replies; another adopts them if that one dies.
    owner: str | None = Field(default=None, sa_column=Column(String(160), nullable=True))


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

    # "poller" (the leader), or "instance:<holder>" for each running instance.
    name: str = Field(primary_key=True, max_length=160)
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


# --- nominations: retreats and honours (issue 12) ---


class Programme(StrEnum):
    """What a nomination round is for: a recuperation retreat (疗休养) or an honour title."""

    RETREAT = "retreat"
    HONOUR = "honour"


class RoundStatus(StrEnum):
    """A round: open (nominating, approving) → publicity (公示) → final; or cancelled."""

    OPEN = "open"
    PUBLICITY = "publicity"
    FINAL = "final"
    CANCELLED = "cancelled"


class UnitContact(SQLModel, table=True):
    """A unit contact (基层工会联络员): nominates for one unit, granted by admins."""

    __tablename__ = "unit_contact"
    __table_args__ = (UniqueConstraint("officer_id", "unit", name="uq_unit_contact_officer_unit"),)

    id: int | None = Field(default=None, primary_key=True)
    officer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("officer.id", ondelete="CASCADE"), nullable=False)
    )
    unit: str = Field(max_length=128, index=True)
    granted_by: str = Field(max_length=64)
    granted_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class NominationRound(SQLModel, table=True):
    """One round of nominations: its places shared among units, its window and its publicity.

    `title` is the policy's honour key (empty for retreats); `daily_allowance` is yuan per
    person per day (retreats; 0 for honours). `lottery_seed` is set at the round's first draw
    and shown to the applicants, who can recompute the draw (bot.rules.nominations.draw).
    """

    __tablename__ = "nomination_round"

    id: int | None = Field(default=None, primary_key=True)
    programme: str = Field(max_length=16)
    title: str = Field(default="", max_length=32)
    name: str = Field(max_length=100)
    places: int
    opens_at: datetime = Field(sa_column=_timestamp())
    closes_at: datetime = Field(sa_column=_timestamp())
    status: str = Field(default=RoundStatus.OPEN, max_length=16, index=True)
    daily_allowance: int = 0
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    publicity_starts_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    publicity_ends_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    finalized_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    lottery_seed: str = Field(default="", max_length=64)


class NominationQuota(SQLModel, table=True):
    """A unit's places in a round; its row is locked while a place is taken (the last one)."""

    __tablename__ = "nomination_quota"
    __table_args__ = (UniqueConstraint("round_id", "unit", name="uq_nomination_quota_round_unit"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("nomination_round.id", ondelete="CASCADE"), nullable=False
        )
    )
    unit: str = Field(max_length=128)
    places: int
    # The unit's active officers when the round opened (what the default quota was made of).
    officers: int = 0
    drawn_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    drawn_by: str = Field(default="", max_length=64)


class RetreatBatch(SQLModel, table=True):
    """One batch (批次) of a retreat round: its days, place, meeting point and places."""

    __tablename__ = "retreat_batch"

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("nomination_round.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    starts_on: date
    ends_on: date
    place: str = Field(max_length=100)
    meeting_point: str = Field(default="", max_length=200)
    places: int


class Nomination(SQLModel, table=True):
    """One officer in one round (at most once: unique round and officer).

    `status` is bot.rules.nominations.NominationStatus; `unit` is the officer's unit when put
    forward, whose quota the place counts against. `applied` is True when the officer applied
    themselves (retreats). The reason for an honour and the reason an organizer returned or
    removed it are sealed: they may describe the officer's health or family.
    """

    __tablename__ = "nomination"
    __table_args__ = (
        UniqueConstraint("round_id", "officer_id", name="uq_nomination_round_officer"),
        Index("ix_nomination_round_unit_status", "round_id", "unit", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("nomination_round.id", ondelete="CASCADE"), nullable=False
        )
    )
    officer_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("officer.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    unit: str = Field(max_length=128)
    status: str = Field(max_length=16)
    applied: bool = False
    nominated_by: str = Field(default="", max_length=64)
    reason_cipher: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    batch_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("retreat_batch.id", ondelete="SET NULL"), nullable=True
        ),
    )
    # The applicant's place in the unit's draw (1 is first), when a lottery decided.
    lottery_rank: int | None = None
    decision_reason_cipher: str = Field(
        default="", sa_column=Column(Text, nullable=False, default="")
    )
    decided_by: str = Field(default="", max_length=64)
    decided_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class NominationObjection(SQLModel, table=True):
    """An objection to a published nomination (公示异议), sealed; one per objector.

    The objector is kept for organizers only: the nominee is never told who objected.
    """

    __tablename__ = "nomination_objection"
    __table_args__ = (
        UniqueConstraint(
            "nomination_id", "objector_id", name="uq_nomination_objection_nomination_objector"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    nomination_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("nomination.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    objector_id: int = Field(
        sa_column=Column(Integer, ForeignKey("officer.id", ondelete="CASCADE"), nullable=False)
    )
    text_cipher: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    # "kept" or "removed" once an organizer decided; the reason is the nomination's.
    outcome: str = Field(default="", max_length=16)
    decided_by: str = Field(default="", max_length=64)
    decided_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))


class HonourExclusion(SQLModel, table=True):
    """An organizer's flag keeping an officer out of an honour title ("" for every title).

    Its reason is sealed and shown to organizers only, never to the officer.
    """

    __tablename__ = "honour_exclusion"
    __table_args__ = (
        UniqueConstraint("officer_id", "title", name="uq_honour_exclusion_officer_title"),
    )

    id: int | None = Field(default=None, primary_key=True)
    officer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("officer.id", ondelete="CASCADE"), nullable=False)
    )
    title: str = Field(default="", max_length=32)
    reason_cipher: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    set_by: str = Field(max_length=64)
    set_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class HonourAward(SQLModel, table=True):
    """The honours register: an officer given a title in a year (by a round, or recorded)."""

    __tablename__ = "honour_award"
    __table_args__ = (
        UniqueConstraint("officer_id", "title", "year", name="uq_honour_award_officer_title_year"),
        Index("ix_honour_award_year", "year"),
    )

    id: int | None = Field(default=None, primary_key=True)
    officer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("officer.id", ondelete="CASCADE"), nullable=False)
    )
    title: str = Field(max_length=32)
    year: int
    round_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("nomination_round.id", ondelete="SET NULL"), nullable=True
        ),
    )
    recorded_by: str = Field(default="", max_length=64)
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


# --- member services: surveys (issue 13, item 3) ---


class SurveyStatus(StrEnum):
    """A survey takes answers until its deadline or until an organizer closes it."""

    OPEN = "open"
    CLOSED = "closed"


class Survey(SQLModel, table=True):
    """A survey (问卷) for an audience (as events name theirs), named or anonymous."""

    __tablename__ = "survey"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=100)
    audience: str = Field(default=Audience.EVERYONE, max_length=16)
    audience_value: str = Field(default="", max_length=128)
    deadline: datetime = Field(sa_column=_timestamp(index=True))
    anonymous: bool = False
    status: str = Field(default=SurveyStatus.OPEN, max_length=16, index=True)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    closed_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))


class SurveyQuestion(SQLModel, table=True):
    """One question of a survey, at its place (from 0); `options` is a JSON list of texts."""

    __tablename__ = "survey_question"
    __table_args__ = (
        UniqueConstraint("survey_id", "position", name="uq_survey_question_position"),
    )

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(
        sa_column=Column(Integer, ForeignKey("survey.id", ondelete="CASCADE"), nullable=False)
    )
    position: int
    kind: str = Field(max_length=16)
    prompt: str = Field(max_length=100)
    options: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    low: int | None = None
    high: int | None = None


class SurveyRespondent(SQLModel, table=True):
    """Has answered: only stops a second answer (and names who answered a named survey).

    No id of its own and only the day: nothing in it orders it against the answer rows.
    """

    __tablename__ = "survey_respondent"

    survey_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("survey.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    officer_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("officer.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    answered_on: date


class SurveyAnswer(SQLModel, table=True):
    """One answer to one question. `id` and `response_id` (the answers of one submission) are
    random; there is no timestamp, and `officer_id` is set only for a named survey, so an
    anonymous answer has nothing that leads back to its officer. On SQLite the table has no
    rowid (whose order would follow the submissions)."""

    __tablename__ = "survey_answer"
    __table_args__ = (
        Index("ix_survey_answer_survey", "survey_id", "position"),
        {"sqlite_with_rowid": False},
    )

    id: str = Field(sa_column=Column(String(32), primary_key=True))
    survey_id: int = Field(
        sa_column=Column(Integer, ForeignKey("survey.id", ondelete="CASCADE"), nullable=False)
    )
    response_id: str = Field(max_length=32)
    position: int
    choices: str = Field(default="", max_length=64)
    number: int | None = None
    text_cipher: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    officer_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("officer.id", ondelete="CASCADE"), nullable=True),
    )


# --- member services: medical mutual aid (issue 13, item 1) ---


class EnrolmentStatus(StrEnum):
    """A member's place in a scheme's year: enrolled, or kept out by an organizer."""

    ENROLLED = "enrolled"
    EXCLUDED = "excluded"


class ClaimStatus(StrEnum):
    """A mutual-aid claim: submitted → paid (with an amount) or refused (with a reason)."""

    SUBMITTED = "submitted"
    PAID = "paid"
    REFUSED = "refused"


class MutualAidEnrolment(SQLModel, table=True):
    """One member in one scheme (the policy's key) of one year.

    An exclusion keeps its row (status excluded, its reason sealed: it may tell of health), so
    `nuanjing mutual-aid enrol` never puts the member back; adding by hand turns it over again.
    """

    __tablename__ = "mutual_aid_enrolment"
    __table_args__ = (
        UniqueConstraint("year", "scheme", "officer_id", name="uq_mutual_aid_enrolment"),
        Index("ix_mutual_aid_enrolment_officer", "officer_id", "year"),
    )

    id: int | None = Field(default=None, primary_key=True)
    year: int
    scheme: str = Field(max_length=16)
    officer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("officer.id", ondelete="CASCADE"), nullable=False)
    )
    status: str = Field(default=EnrolmentStatus.ENROLLED, max_length=16)
    # "run" (nuanjing mutual-aid enrol) or "hand" (an organizer in /mutualaid).
    source: str = Field(default="run", max_length=8)
    reason_cipher: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    changed_by: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    changed_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class MutualAidClaim(SQLModel, table=True):
    """A claim an organizer records for a member under a scheme of a year.

    Money in whole yuan (no fen: the schemes pay round sums), never negative. The note and the
    refusal's reason tell of health: sealed (storage.sealed), never in the finance export.
    """

    __tablename__ = "mutual_aid_claim"
    __table_args__ = (
        Index("ix_mutual_aid_claim_year", "year", "scheme", "status"),
        CheckConstraint("amount IS NULL OR amount >= 0", name="ck_mutual_aid_claim_amount"),
    )

    id: int | None = Field(default=None, primary_key=True)
    year: int
    scheme: str = Field(max_length=16)
    officer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("officer.id", ondelete="CASCADE"), nullable=False)
    )
    submitted_on: date
    status: str = Field(default=ClaimStatus.SUBMITTED, max_length=16)
    note_cipher: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    amount: int | None = None
    reason_cipher: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    recorded_by: str = Field(max_length=64)
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    decided_by: str = Field(default="", max_length=64)
    decided_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))


# --- member services: charity (issue 13, item 2) ---

# Money in charity is whole yuan (integers): pledges and gifts are counted in yuan, never fen;
# every amount is above zero (a CHECK in the database too).


class CharityStatus(StrEnum):
    """A campaign takes pledges and payments until an organizer closes it (pledges only until
    its end date, when it has one)."""

    OPEN = "open"
    CLOSED = "closed"


class CharityCampaign(SQLModel, table=True):
    """A charity campaign (慈善一日捐 / 慈善天天一捐) for an audience (everyone or a unit)."""

    __tablename__ = "charity_campaign"
    __table_args__ = (CheckConstraint("target > 0", name="ck_charity_campaign_target"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60)
    year: int
    # Yuan.
    target: int
    # The suggested amounts (yuan) offered as buttons, as "50,100,200,500".
    suggested: str = Field(default="", max_length=64)
    audience: str = Field(default=Audience.EVERYONE, max_length=16)
    audience_value: str = Field(default="", max_length=128)
    # The last day (the union's calendar) pledges are taken; None: until closed.
    ends_on: date | None = None
    status: str = Field(default=CharityStatus.OPEN, max_length=16, index=True)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    closed_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))


class CharityPledge(SQLModel, table=True):
    """An officer's pledge to a campaign: one per officer, a new one replaces it (after the
    officer confirmed). `daily` × `days` when pledged as a daily sum."""

    __tablename__ = "charity_pledge"
    __table_args__ = (
        CheckConstraint("amount > 0", name="ck_charity_pledge_amount"),
        CheckConstraint(
            "(daily IS NULL AND days IS NULL) OR (daily > 0 AND days > 0)",
            name="ck_charity_pledge_daily",
        ),
    )

    campaign_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("charity_campaign.id", ondelete="CASCADE"),
            primary_key=True,
            nullable=False,
        )
    )
    officer_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("officer.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    amount: int
    daily: int | None = None
    days: int | None = None
    pledged_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class CharityPayment(SQLModel, table=True):
    """What an officer was recorded as having paid to a campaign, by hand or by an import.

    `unit` is the officer's unit when it was recorded: a campaign's totals per unit stay as
    they were when an officer moves on."""

    __tablename__ = "charity_payment"
    __table_args__ = (
        CheckConstraint("amount > 0", name="ck_charity_payment_amount"),
        Index("ix_charity_payment_campaign", "campaign_id", "officer_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("charity_campaign.id", ondelete="CASCADE"), nullable=False
        )
    )
    officer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("officer.id", ondelete="CASCADE"), nullable=False)
    )
    unit: str = Field(default="", max_length=128)
    amount: int
    paid_on: date
    # "hand" (one by one) or "import" (a file).
    source: str = Field(default="hand", max_length=16)
    recorded_by: str = Field(max_length=64)
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


# --- member services: distributions (issue 13, item 4) ---


class DistributionMode(StrEnum):
    """Bulk to each unit (口罩 by the box), or one share to each officer (消费券, 节日礼品)."""

    PER_UNIT = "unit"
    PER_OFFICER = "officer"


class DistributionStatus(StrEnum):
    """A distribution takes receipts until an organizer closes it."""

    OPEN = "open"
    CLOSED = "closed"


class Distribution(SQLModel, table=True):
    """A distribution of supplies or vouchers (物资与消费券发放), counted in items (份), never
    negative; `per_officer` is the share of one officer (per-officer mode; 0 per unit)."""

    __tablename__ = "distribution"
    __table_args__ = (
        CheckConstraint("quantity > 0 AND per_officer >= 0", name="ck_distribution_quantity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    item: str = Field(max_length=30)
    mode: str = Field(max_length=16)
    quantity: int
    per_officer: int = 0
    audience: str = Field(default=Audience.EVERYONE, max_length=16)
    audience_value: str = Field(default="", max_length=128)
    note: str = Field(default="", max_length=200)
    status: str = Field(default=DistributionStatus.OPEN, max_length=16, index=True)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    # The one reminder: set by whoever sends it first (an organizer's press or the job).
    reminded_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    closed_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    # The notice that published it: what of it is not yet sent stops when it is closed.
    notice_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("broadcast.id", ondelete="SET NULL"), nullable=True),
    )


class DistributionUnit(SQLModel, table=True):
    """A unit's share of a distribution; `received` stays None until the unit confirms
    (per unit; per officer the officers' own receipts count)."""

    __tablename__ = "distribution_unit"
    __table_args__ = (
        UniqueConstraint("distribution_id", "unit", name="uq_distribution_unit"),
        CheckConstraint(
            "allocated >= 0 AND (received IS NULL OR received >= 0)",
            name="ck_distribution_unit_counts",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    distribution_id: int = Field(
        sa_column=Column(Integer, ForeignKey("distribution.id", ondelete="CASCADE"), nullable=False)
    )
    unit: str = Field(max_length=128)
    allocated: int
    received: int | None = None
    confirmed_by: str = Field(default="", max_length=64)
    confirmed_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))


class DistributionShare(SQLModel, table=True):
    """One officer's share of a per-officer distribution (the audience when it was published)
    and when they confirmed 已领取."""

    __tablename__ = "distribution_share"
    __table_args__ = (Index("ix_distribution_share_unit", "distribution_id", "unit"),)

    distribution_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("distribution.id", ondelete="CASCADE"),
            primary_key=True,
            nullable=False,
        )
    )
    officer_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("officer.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    unit: str = Field(max_length=128)
    collected_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
