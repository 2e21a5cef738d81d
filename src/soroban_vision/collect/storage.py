"""Where collected crops and frames live: one SQLite file in WAL mode by default, or PostgreSQL
(`postgresql://...`) for deployments that outgrow one machine, through SQLAlchemy Core. Images are
kept in the database, so no file name is ever made from a request. A commit is durable before the
client hears "stored" (SQLite: synchronous=FULL)."""

from __future__ import annotations

import json
import secrets
import threading
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    case,
    create_engine,
    event,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import ArgumentError, OperationalError

from soroban_vision.collect.judge import ACCEPTED, REJECTED, STATUSES
from soroban_vision.errors import UsageError

metadata = MetaData()
settings = Table(
    "settings", metadata, Column("name", String(64), primary_key=True), Column("value", Text, nullable=False)
)
submissions = Table(
    "submissions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # seed | v1 | frame
    Column("received_at", String(32), nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("player", String(32)),
    Column("session", String(32)),
    Column("device", String(32)),
    Column("client_version", String(100)),
    Column("client_model", String(100)),
    Column("client_model_sha256", String(64)),
    Column("client_digits", String(40)),
    Column("answer", String(40)),
    Column("columns", Integer),
)
crops = Table(
    "crops",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("png", LargeBinary, nullable=False),
    Column("submission_id", Integer, ForeignKey("submissions.id"), nullable=False, index=True),
    Column("column_index", Integer, nullable=False),
    Column("submitted_label", Integer, nullable=False),
    Column("label", Integer, nullable=False, index=True),
    Column("status", String(16), nullable=False, index=True),
    Column("model_name", String(100), nullable=False),
    Column("model_sha256", String(64), nullable=False),
    Column("model_digit", Integer, nullable=False),
    Column("model_confidence", Float, nullable=False),
    Column("player", String(32), index=True),
    Column("client_version", String(100)),
    Column("created_at", String(32), nullable=False),
    Column("reviewed_at", String(32)),
)
frames = Table(
    "frames",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("png", LargeBinary, nullable=False),
    Column("submission_id", Integer, ForeignKey("submissions.id"), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("corners", Text, nullable=False),
    Column("player", String(32)),
    Column("created_at", String(32), nullable=False),
)
CROP_FIELDS = [c for c in crops.c if c.name != "png"]


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def database_url(db: str) -> str:
    """A SQLAlchemy URL from what a user writes: a file path, sqlite:///..., or postgresql://..."""
    if db.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + db.split("://", 1)[1]
    if "://" in db:
        return db
    return "sqlite:///" + str(Path(db).expanduser().resolve())


class Store:
    """The database: tables made on first use, then inserts, review queries and updates."""

    def __init__(self, db: str):
        url = database_url(db)
        try:
            if url.startswith("sqlite"):
                self.engine = create_engine(
                    url, connect_args={"timeout": 30, "check_same_thread": False}, pool_size=8
                )
                event.listen(self.engine, "connect", _sqlite_pragmas)
            else:
                self.engine = create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
        except (ArgumentError, ModuleNotFoundError) as e:
            raise UsageError(f"--db {db!r}: {str(e).splitlines()[0]}", code="bad_db") from None
        self.kind = self.engine.dialect.name
        self.insert = sqlite_insert if self.kind == "sqlite" else pg_insert
        # SQLite has one writer at a time: take turns here rather than spin on SQLITE_BUSY
        self._write_lock = threading.Lock() if self.kind == "sqlite" else None
        try:
            metadata.create_all(self.engine)
            self.secret = self._secret()
        except OperationalError as e:
            raise UsageError(
                f"cannot open the database {db!r}: {str(e.orig).strip().splitlines()[0]}"
            ) from None

    @contextmanager
    def writing(self):
        if self._write_lock is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    def _secret(self) -> bytes:
        """The key that hashes ids: made once per database, kept in it."""
        with self.writing() as conn:
            conn.execute(
                self.insert(settings)
                .values(name="id_key", value=secrets.token_hex(32))
                .on_conflict_do_nothing(index_elements=["name"])
            )
            value = conn.execute(select(settings.c.value).where(settings.c.name == "id_key")).scalar_one()
        return bytes.fromhex(value)

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    # ------------------------------------------------------------------ writing

    def add_crops(self, submission: dict, rows: list[dict]) -> list[int | None]:
        """Insert a submission and its crops in one transaction; each crop's new id, or None for a
        crop already stored (the same pixels)."""
        ids = []
        with self.writing() as conn:
            sid = conn.execute(
                submissions.insert().values(**submission).returning(submissions.c.id)
            ).scalar_one()
            for row in rows:
                statement = (
                    self.insert(crops)
                    .values(submission_id=sid, **row)
                    .on_conflict_do_nothing(index_elements=["sha256"])
                    .returning(crops.c.id)
                )
                ids.append(conn.execute(statement).scalar_one_or_none())
        return ids

    def add_frame(self, submission: dict, row: dict) -> int | None:
        with self.writing() as conn:
            sid = conn.execute(
                submissions.insert().values(**submission).returning(submissions.c.id)
            ).scalar_one()
            statement = (
                self.insert(frames)
                .values(submission_id=sid, **{**row, "corners": json.dumps(row["corners"])})
                .on_conflict_do_nothing(index_elements=["sha256"])
                .returning(frames.c.id)
            )
            return conn.execute(statement).scalar_one_or_none()

    def review(self, crop_id: int, status: str, label: int | None = None) -> dict | None:
        values = {"status": status, "reviewed_at": now()}
        if label is not None:
            values["label"] = label
        with self.writing() as conn:
            done = conn.execute(crops.update().where(crops.c.id == crop_id).values(**values))
        return self.crop(crop_id) if done.rowcount else None

    # ------------------------------------------------------------------ reading

    def crop(self, crop_id: int) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(*CROP_FIELDS).where(crops.c.id == crop_id)).mappings().first()
        return dict(row) if row else None

    def crop_png(self, crop_id: int) -> bytes | None:
        with self.engine.connect() as conn:
            return conn.execute(select(crops.c.png).where(crops.c.id == crop_id)).scalar_one_or_none()

    def list_crops(self, status: str | None, label: int | None, after: int, limit: int) -> list[dict]:
        """Crops in review order: needs_review first, then by label, then oldest first."""
        order = case({s: i for i, s in enumerate(STATUSES)}, value=crops.c.status, else_=len(STATUSES))
        query = select(*CROP_FIELDS).where(crops.c.id > after)
        if status is not None:
            query = query.where(crops.c.status == status)
        if label is not None:
            query = query.where(crops.c.label == label)
        query = query.order_by(order, crops.c.label, crops.c.id).limit(limit)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def summary(self) -> dict:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(crops.c.status, crops.c.label, func.count()).group_by(crops.c.status, crops.c.label)
            ).all()
            n_frames = conn.execute(select(func.count()).select_from(frames)).scalar_one()
            n_subs = conn.execute(select(func.count()).select_from(submissions)).scalar_one()
        by_status = {s: 0 for s in STATUSES}
        by_label = {str(d): {s: 0 for s in STATUSES} for d in range(10)}
        for status, label, n in rows:
            by_status[status] = by_status.get(status, 0) + n
            by_label[str(label)][status] = n
        return {
            "crops": sum(by_status.values()),
            "by_status": by_status,
            "by_label": by_label,
            "frames": n_frames,
            "submissions": n_subs,
        }

    def list_frames(self, after: int, limit: int) -> list[dict]:
        fields = [c for c in frames.c if c.name != "png"]
        query = select(*fields).where(frames.c.id > after).order_by(frames.c.id).limit(limit)
        with self.engine.connect() as conn:
            out = [dict(r) for r in conn.execute(query).mappings()]
        for row in out:
            row["corners"] = json.loads(row["corners"])
        return out

    def frame_png(self, frame_id: int) -> bytes | None:
        with self.engine.connect() as conn:
            return conn.execute(select(frames.c.png).where(frames.c.id == frame_id)).scalar_one_or_none()

    def accepted(self) -> list[dict]:
        """Every accepted crop with its pixels, for export."""
        query = select(crops).where(crops.c.status == ACCEPTED).order_by(crops.c.id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def count_crops(self, sha256s: list[str] | None = None) -> int:
        """All crops, or how many of these content hashes are stored."""
        with self.engine.connect() as conn:
            if sha256s is None:
                return conn.execute(select(func.count()).select_from(crops)).scalar_one()
            unique = sorted(set(sha256s))
            return sum(
                conn.execute(
                    select(func.count()).where(crops.c.sha256.in_(unique[i : i + 1000]))
                ).scalar_one()
                for i in range(0, len(unique), 1000)
            )

    def integrity(self) -> str:
        """'ok', or what is wrong: SQLite's integrity_check; on PostgreSQL, amcheck over every
        B-tree index of our tables, with a check that each index holds every row of its table."""
        with self.engine.begin() as conn:
            if self.kind == "sqlite":
                rows = [r[0] for r in conn.execute(text("PRAGMA integrity_check"))]
                return "ok" if rows == ["ok"] else "; ".join(rows[:5])
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS amcheck"))
            indexes = conn.execute(
                text(
                    "SELECT c.oid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                    "JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname = ANY(:tables)"
                ),
                {"tables": [t.name for t in metadata.sorted_tables]},
            ).scalars()
            for oid in list(indexes):
                conn.execute(text("SELECT bt_index_check(CAST(:oid AS regclass), true)"), {"oid": oid})
        return "ok"

    def close(self) -> None:
        self.engine.dispose()


REVIEW_ACTIONS = {"accept": ACCEPTED, "reject": REJECTED, "relabel": ACCEPTED}


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # an acknowledged write survives a crash of the machine too
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
