"""SQLAlchemy 2 models: the data model of ARCHITECTURE.md.

Invariants live in the schema, not only in code, so that a bug in a service or two replicas racing each
other cannot break them:

* one submitted (not skipped) annotation per (task, user): a partial unique index;
* a task is never held by more annotators than its overlap allows: ``n_annotations + n_locked <= overlap``
  is a CHECK constraint, and hand-out increments ``n_locked`` with a guarded UPDATE;
* one live lock per (task, user).

Queries that run on every rerun use the indexed counters (``state``, ``n_annotations``) with equality
lookups; nothing scans task JSON.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Roles and task states are defined in core.vocabulary (a leaf module the pages may import too) and
# re-exported here for the storage and core code that names them with the models.
from core.vocabulary import (
    LOCK_REVIEW as LOCK_REVIEW,
    PROJECT_ROLES as PROJECT_ROLES,
    ROLE_ANNOTATOR as ROLE_ANNOTATOR,
    ROLE_MANAGER as ROLE_MANAGER,
    ROLE_REVIEWER as ROLE_REVIEWER,
    TASK_COMPLETED as TASK_COMPLETED,
    TASK_DONE as TASK_DONE,
    TASK_OPEN as TASK_OPEN,
    TASK_REVIEW as TASK_REVIEW,
    TASK_STATES as TASK_STATES,
)

# Named constraints so Alembic migrations can address them on SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSON on SQLite, JSONB on PostgreSQL (smaller, indexable if ever needed).
JsonType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> dt.datetime:
    """Naive UTC: SQLite has no time zones, so every timestamp is stored as UTC without one."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


LOCK_TASK = "task"  # an ordinary hand-out, counted in tasks.n_locked
LOCK_HONEYPOT = "honeypot"  # a ground-truth task shown to measure the annotator
LOCK_REPEAT = "repeat"  # a self-consistency repeat of the annotator's own earlier task
LOCK_KINDS = (LOCK_TASK, LOCK_HONEYPOT, LOCK_REPEAT, LOCK_REVIEW)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint("overlap >= 1", name="overlap_positive"),
        CheckConstraint("maximum_annotations >= overlap", name="maximum_covers_overlap"),
        CheckConstraint("lock_ttl_s > 0", name="lock_ttl_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    instructions: Mapped[str] = mapped_column(Text, default="")
    config_xml: Mapped[str] = mapped_column(Text)
    config_version: Mapped[int] = mapped_column(Integer, default=1)
    overlap: Mapped[int] = mapped_column(Integer, default=1)
    maximum_annotations: Mapped[int] = mapped_column(Integer, default=1)
    agreement_threshold: Mapped[float] = mapped_column(Float, default=0.8)
    sampling: Mapped[str] = mapped_column(String(20), default="sequential")
    lock_ttl_s: Mapped[int] = mapped_column(Integer, default=3600)
    honeypot_rate: Mapped[float] = mapped_column(Float, default=0.0)
    repeat_rate: Mapped[float] = mapped_column(Float, default=0.0)
    show_predictions: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_skip: Mapped[bool] = mapped_column(Boolean, default=True)
    escalation_order: Mapped[str] = mapped_column(String(20), default="annotators_first")
    verify_rate: Mapped[float] = mapped_column(Float, default=0.0, server_default=text("0"))  # agreed tasks sampled to review
    anonymize_reviews: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Whether the project has an active webhook: kept by core.webhooks, read on every submit from the
    # already loaded project row, so projects without webhooks pay no query for them.
    has_webhooks: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ConfigVersion(Base):
    """The labeling policy over time: every annotation records the version it was made under."""

    __tablename__ = "config_versions"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    config_xml: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("project_id", "user_id", "role"),
        CheckConstraint("role IN ('annotator', 'reviewer', 'manager')", name="known_role"),
        CheckConstraint("consensus_weight > 0 AND consensus_weight <= 1", name="consensus_weight_in_range"),
        Index(None, "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # Meaningful on the annotator role's row (core.annotator_actions). A paused annotator gets no new task in
    # the project: read with the membership check the hand-out makes anyway, so it costs no extra query.
    paused_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # How much the annotator's vote counts in the project's consensus votes (core.quality): 1 normal, down to
    # just above 0. Read with the counted annotations in the statement that scores a task.
    consensus_weight: Mapped[float] = mapped_column(Float, default=1.0, server_default=text("1.0"))


class ImportBatch(Base):
    """One imported file; the content hash makes a repeated import of the same file a clear error."""

    __tablename__ = "import_batches"
    __table_args__ = (UniqueConstraint("project_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    n_tasks: Mapped[int] = mapped_column(Integer, default=0)
    n_annotations: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint("n_annotations >= 0 AND n_locked >= 0", name="counters_not_negative"),
        CheckConstraint("n_locked + n_annotations <= overlap OR n_locked = 0", name="holders_within_overlap"),
        CheckConstraint("state IN ('open', 'completed', 'review', 'done')", name="known_state"),
        # The next-task query: equality on (project, state), then id order. The order is on `id + 0` so
        # that only this index can serve it: ordered by plain `id`, PostgreSQL's planner walks the primary
        # key and filters out every finished task ahead of the first open one (13 ms at 40k finished
        # tasks, growing with progress; 0.2 ms this way).
        Index("ix_tasks_hand_out_queue", "project_id", "state", text("(id + 0)")),
        # Keyset pagination of the data browser (project, id) and the honeypot pool.
        Index(None, "project_id", "id"),
        Index(
            "ix_tasks_ground_truth_pool",
            "project_id",
            "id",
            sqlite_where=text("is_ground_truth = 1"),
            postgresql_where=text("is_ground_truth"),
        ),
        Index(None, "project_id", "state", "prediction_score", "id"),
        Index(None, "import_batch_id"),
        # The data browser's keyset orders "by number of annotations" and "by last change" (a page of 50
        # at 1M tasks: 2-3 s of sorting without them, < 1 ms with them; see BENCHMARKS.md "Data browser").
        Index(None, "project_id", "n_annotations", "id"),
        Index(None, "project_id", "updated_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id", ondelete="SET NULL"))
    source_id: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JsonType)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    state: Mapped[str] = mapped_column(String(12), default=TASK_OPEN, server_default=TASK_OPEN)
    overlap: Mapped[int] = mapped_column(Integer, default=1)
    n_annotations: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    n_locked: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    is_ground_truth: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Score of the newest prediction, kept in step for uncertainty sampling (lowest first) by index.
    prediction_score: Mapped[float | None] = mapped_column(Float)
    # Why a task waits for review: "disagreement" (the quality engine), "flagged" (a labeler was unsure),
    # "verification" (a sampled share of agreed tasks), "returned" (back from its authors); None otherwise.
    review_reason: Mapped[str | None] = mapped_column(String(20))
    # Kept from an imported Label Studio task and written back on export: its number in its Label Studio project
    # and the uploaded file it came from (None for tasks that did not come with them).
    inner_id: Mapped[int | None] = mapped_column(BigInteger)
    file_upload: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class TaskLock(Base):
    """Who holds a task until when. Expired rows are reclaimed by the hand-out, which decrements n_locked."""

    __tablename__ = "task_locks"
    __table_args__ = (
        UniqueConstraint("task_id", "user_id"),
        Index(None, "user_id", "expires_at"),
        Index(None, "project_id", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # "task": counted in tasks.n_locked; "honeypot" and "repeat" locks hold a task outside its overlap
    # (ground-truth checks and self-consistency repeats), and "review" locks a task in review for one
    # reviewer (core.review_queue), so reclaiming them must not touch the counter.
    kind: Mapped[str] = mapped_column(String(10), default=LOCK_TASK, server_default=LOCK_TASK)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Prediction(Base):
    __tablename__ = "predictions"
    __table_args__ = (Index(None, "task_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    model_version: Mapped[str] = mapped_column(String(200), default="undefined")
    score: Mapped[float | None] = mapped_column(Float)
    result: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Annotation(Base):
    __tablename__ = "annotations"
    __table_args__ = (
        # One submitted annotation per (task, user); skips (was_cancelled) are recorded beside it.
        Index(
            "uq_annotations_task_id_completed_by_id_submitted",
            "task_id",
            "completed_by_id",
            unique=True,
            sqlite_where=text("was_cancelled = 0"),
            postgresql_where=text("NOT was_cancelled"),
        ),
        Index(None, "task_id"),
        Index(None, "completed_by_id", "task_id"),
        Index(None, "project_id", "completed_by_id"),
        # The Quality page's first look at a big project (core.analytics.first_look): volume and lead / active
        # time histograms per annotator, read from this index alone (1,000,000 annotations: well under a second
        # instead of 8-12 s of table lookups on SQLite; see BENCHMARKS.md "Quality at a million annotations").
        Index("ix_annotations_volume_and_speed", "project_id", "completed_by_id", "was_cancelled", "ground_truth",
              "lead_time_s", "active_time_s", "created_at", "task_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    completed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    result: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)
    was_cancelled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    skip_reason: Mapped[str | None] = mapped_column(Text)
    ground_truth: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    lead_time_s: Mapped[float | None] = mapped_column(Float)
    active_time_s: Mapped[float | None] = mapped_column(Float)
    prediction_id: Mapped[int | None] = mapped_column(ForeignKey("predictions.id", ondelete="SET NULL"))
    prediction_changed: Mapped[bool | None] = mapped_column(Boolean)
    config_version: Mapped[int] = mapped_column(Integer, default=1)
    import_id: Mapped[int | None] = mapped_column(Integer)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))  # "I'm not sure"
    flag_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Draft(Base):
    """Work in progress, saved on every change so a reload resumes exactly where the labeler was."""

    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("task_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    annotation_id: Mapped[int | None] = mapped_column(ForeignKey("annotations.id", ondelete="CASCADE"))
    result: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)
    active_time_s: Mapped[float] = mapped_column(Float, default=0.0)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Review(Base):
    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint("verdict IN ('accepted', 'rejected', 'fixed', 'consensus', 'returned')", name="known_verdict"),
        Index(None, "task_id"),
        Index(None, "annotation_id"),  # "is this annotation reviewed?" on every task view
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    annotation_id: Mapped[int | None] = mapped_column(ForeignKey("annotations.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    verdict: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str] = mapped_column(Text, default="")
    fixed_result: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonType)
    seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # when the annotation's author saw it
    time_s: Mapped[float | None] = mapped_column(Float)  # the reviewer's time on the task, opened to decided
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Consensus(Base):
    """The consensus of a task's annotations: one row per task, recomputed when the task changes."""

    __tablename__ = "consensus"
    # The data browser's "by agreement" order walks this index and joins tasks by primary key.
    __table_args__ = (Index(None, "agreement", "task_id"),)

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    result: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)
    method: Mapped[str] = mapped_column(String(40))
    agreement: Mapped[float | None] = mapped_column(Float)
    n_annotations: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class GroundTruth(Base):
    """The accepted truth for a task: a reviewer's resolution or imported gold."""

    __tablename__ = "ground_truth"
    __table_args__ = (CheckConstraint("source IN ('review', 'import', 'manager')", name="known_source"),)

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    result: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)
    source: Mapped[str] = mapped_column(String(10))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class StorageConnection(Base):
    """A cloud or local storage a project imports from or exports to. Secrets are never stored in clear."""

    __tablename__ = "storage_connections"
    __table_args__ = (CheckConstraint("direction IN ('source', 'target')", name="known_direction"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(10))
    provider: Mapped[str] = mapped_column(String(20), default="s3")
    bucket: Mapped[str] = mapped_column(String(255))
    prefix: Mapped[str] = mapped_column(String(1024), default="")
    regex_filter: Mapped[str] = mapped_column(String(1024), default="")
    endpoint_url: Mapped[str | None] = mapped_column(String(1024))
    region: Mapped[str | None] = mapped_column(String(64))
    settings: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    watermark: Mapped[str | None] = mapped_column(String(1024))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Webhook(Base):
    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    secret: Mapped[str] = mapped_column(String(255), default="")
    events: Mapped[list[str]] = mapped_column(JsonType, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # "events": called for each subscribed event; "training": called when `every_n` new verified items
    # exist since the last call (`last_count` is the verified count at that call).
    kind: Mapped[str] = mapped_column(String(12), default="events", server_default="events")
    every_n: Mapped[int | None] = mapped_column(Integer)
    last_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class WebhookDelivery(Base):
    """The outbox and delivery log: written in the transaction of the event, delivered (and retried with
    back-off) afterwards, so an event is never lost and never blocks the labeler's submit."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="known_status"),
        Index(None, "status", "next_attempt_at"),
        Index(None, "webhook_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Invite(Base):
    """An invite link: the token itself is shown once; only its hash is stored (like sessions)."""

    __tablename__ = "invites"
    __table_args__ = (
        CheckConstraint("role IN ('annotator', 'reviewer', 'manager')", name="known_role"),
        Index(None, "project_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20), default=ROLE_ANNOTATOR)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class StorageObject(Base):
    """One object seen by an S3 source sync: incremental sync imports only keys not seen before
    (or changed, by ETag), whatever order the store lists them in."""

    __tablename__ = "storage_objects"
    __table_args__ = (UniqueConstraint("connection_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("storage_connections.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(1024))
    etag: Mapped[str] = mapped_column(String(100), default="")
    n_tasks: Mapped[int] = mapped_column(Integer, default=0)
    synced_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class SelfCheck(Base):
    """A self-consistency repeat: the annotator gets a task they did before, unmarked, once they have
    done `due_after` annotations in the project; their new answer is kept here (not as a second
    annotation, which would count twice in consensus) with its agreement to the original."""

    __tablename__ = "self_checks"
    __table_args__ = (
        UniqueConstraint("annotation_id"),
        Index(None, "project_id", "user_id", "answered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    annotation_id: Mapped[int] = mapped_column(ForeignKey("annotations.id", ondelete="CASCADE"))
    due_after: Mapped[int] = mapped_column(Integer)
    result: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonType)
    agreement: Mapped[float | None] = mapped_column(Float)
    lead_time_s: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AuditEvent(Base):
    """Who did what and when: sign-ins, role changes, imports, exports, reviews."""

    __tablename__ = "audit_events"
    __table_args__ = (Index(None, "project_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(60))
    detail: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class UserSession(Base):
    """A browser sign-in that survives a reload: the cookie holds a random token, the database its hash.

    A new session is first *handed off*: the sign-in page gets a one-time token (``handoff_hash``, valid until
    ``handoff_expires_at``, seconds) that the browser trades at ``/api/session/start`` for the HttpOnly cookie;
    until then ``token_hash`` is the hash of a token nobody holds.
    """

    __tablename__ = "user_sessions"
    __table_args__ = (Index(None, "user_id"), Index(None, "expires_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    handoff_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    handoff_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class SignInThrottle(Base):
    """Failed sign-ins counted per account (or per typed name that matches none) and per client address.

    Kept in the database, not in a replica's memory: behind a load balancer every replica must see the same
    count. ``failures`` counts attempts since the last success (an attempt is counted when it starts, so
    parallel guesses cannot all slip past the check); ``locked_until`` refuses attempts until then.
    """

    __tablename__ = "sign_in_throttles"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ApiToken(Base):
    """A personal API token (``Authorization: Token <token>``, as Label Studio's legacy tokens): the user
    sees it once; the database keeps only its SHA-256.

    A plain, unsalted SHA-256 is right here, unlike for passwords: the token is 32 random bytes
    (``secrets.token_urlsafe(32)``), so there is nothing to guess from a dictionary and no slow hash is needed
    to make a brute force hopeless, while the hash can be looked up by equality on every request. ``prefix``
    (the token's first 8 characters) tells a user's tokens apart in lists; it is too short to be of use to
    anyone who reads it. A revoked token keeps its row (``revoked_at``) so lists and the audit trail still
    name it.
    """

    __tablename__ = "api_tokens"
    __table_args__ = (Index(None, "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
