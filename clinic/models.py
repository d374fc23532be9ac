"""The store's tables as typed SQLAlchemy models: the one description of the schema the code reads and writes.

Why models and migrations both: the models say what the code expects now; the migrations (``clinic/migrations``)
say how a database made by any earlier version gets there, and a test checks that the two agree. Only the modules
of this package see these classes; callers get frozen dataclasses.

Every moment is stored timezone-aware in UTC (``UtcDateTime``): SQLite keeps no zone, so a naive time would mean
whatever the workstation's clock zone was; one that is naive is refused before it is written.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import Date, DateTime, Float, ForeignKey, Index, Integer, MetaData, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from clinic.record_keys import KEY_LENGTH


class UtcDateTime(TypeDecorator[datetime]):
    """A moment, written in UTC and read back aware in UTC, on SQLite (which keeps no zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"a time without its zone cannot be stored: {value.isoformat()}")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


NAMING = {"ix": "ix_%(table_name)s_%(column_0_name)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
          "fk": "fk_%(table_name)s_%(column_0_name)s", "pk": "pk_%(table_name)s"}
"""Every constraint and index has a name, the same in the migrations, so a later migration can alter it."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (Index("uq_users_username_key", "username_key", unique=True),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    username_key: Mapped[str | None] = mapped_column(String(KEY_LENGTH))
    """``clinic.record_keys.record_key(username)``: what a user name is looked up and kept unique by (0004; null only
    in a row written by hand, which no lookup finds)."""
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class TokenRow(Base):
    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PatientRow(Base):
    __tablename__ = "patients"
    __table_args__ = (Index("uq_patients_identifier_key", "identifier_key", unique=True),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identifier: Mapped[str] = mapped_column(String(64), unique=True)
    identifier_key: Mapped[str | None] = mapped_column(String(KEY_LENGTH))
    """``record_key(identifier)``, as ``UserRow.username_key``."""
    name: Mapped[str] = mapped_column(String(256))
    birth_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(64))


class ImplantRow(Base):
    __tablename__ = "implants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    pump_serial: Mapped[str] = mapped_column(String(64), unique=True)
    pump_model: Mapped[str] = mapped_column(String(64))
    implanted_on: Mapped[date] = mapped_column(Date)
    explanted_on: Mapped[date | None] = mapped_column(Date)
    catheter_cm: Mapped[float | None] = mapped_column(Float)


class CatheterRevisionRow(Base):
    __tablename__ = "catheter_revisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    implant_id: Mapped[int] = mapped_column(ForeignKey("implants.id"), index=True)
    revised_on: Mapped[date] = mapped_column(Date)
    catheter_cm: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text)


class SessionRow(Base):
    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    username: Mapped[str] = mapped_column(String(64))
    workstation: Mapped[str] = mapped_column(String(256))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    pump_serial: Mapped[str | None] = mapped_column(String(64))


class DoseRow(Base):
    __tablename__ = "dose_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    pump_serial: Mapped[str] = mapped_column(String(64))
    session_id: Mapped[str | None] = mapped_column(String(32))
    time: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(16))
    drug: Mapped[str] = mapped_column(String(64))
    dose_unit: Mapped[str] = mapped_column(String(16))
    concentration: Mapped[float | None] = mapped_column(Float)
    daily_dose: Mapped[float | None] = mapped_column(Float)
    volume_ml: Mapped[float | None] = mapped_column(Float)
    dose: Mapped[float | None] = mapped_column(Float)
    reservoir_ml: Mapped[float | None] = mapped_column(Float)
    username: Mapped[str] = mapped_column(String(64))
    audit_record_id: Mapped[str | None] = mapped_column(String(64))


class AuditRow(Base):
    __tablename__ = "audit_records"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    record_id: Mapped[str] = mapped_column(String(64), unique=True)
    time: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    session_id: Mapped[str | None] = mapped_column(String(32), index=True)
    username: Mapped[str | None] = mapped_column(String(64), index=True)
    patient_identifier: Mapped[str | None] = mapped_column(String(64), index=True)
    pump_serial: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    event: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), index=True)


class AuditHeadRow(Base):
    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
