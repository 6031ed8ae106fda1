"""The seeded demo: users of every role and one project per data type, with disagreeing annotations.

A newcomer's first start on an empty database runs :func:`seed_demo`, so review queues and analytics
have something real to show from minute one. The projects are plain Label Studio imports
(``assets/demo/<folder>/config.xml`` + ``tasks.json``), loaded through the same import service users
call, which keeps the demo honest.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from core.imports import import_tasks_file
from core.projects import ProjectSettings, add_member, create_project
from core.quality import recompute_project
from core.settings import REPO_ROOT, load_settings
from core.uow import UnitOfWork, UowFactory
from core.users import UserInfo, create_user, password_matches
from storage.models import ROLE_ANNOTATOR, ROLE_MANAGER, ROLE_REVIEWER
from storage.repositories import demo as demo_repo
from storage.repositories import users as users_repo

DEMO_DIR = REPO_ROOT / "assets" / "demo"
DEMO_DOMAIN = "demo.quorum.local"
#: A seeded annotation's active time as a share of its lead time: a real session counts the time spent working
#: on the task (idle gaps left out, core.labeling.add_active_time), a little less than the time it was open.
ACTIVE_SHARE = (0.70, 0.95)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str  # "admin" or a project role
    display_name: str


DEMO_ACCOUNTS = (
    DemoAccount("admin", "admin-demo", "admin", "Ada Admin"),
    DemoAccount("manager", "manager-demo", ROLE_MANAGER, "Maya Manager"),
    DemoAccount("reviewer", "reviewer-demo", ROLE_REVIEWER, "Rui Reviewer"),
    DemoAccount("annotator1", "annotator-demo", ROLE_ANNOTATOR, "Ana Annotator"),
    DemoAccount("annotator2", "annotator-demo", ROLE_ANNOTATOR, "Ben Annotator"),
    DemoAccount("annotator3", "annotator-demo", ROLE_ANNOTATOR, "Chloe Annotator"),
    DemoAccount("annotator4", "annotator-demo", ROLE_ANNOTATOR, "Dev Annotator"),
    DemoAccount("newcomer", "newcomer-demo", ROLE_ANNOTATOR, "Nia Newcomer"),
)


def demo_sign_in_text() -> str:
    """How to sign in to the demo, for the console and the sign-in page."""
    lines = [f"  {a.username:<11} / {a.password:<15} ({a.role})" for a in DEMO_ACCOUNTS]
    return "Demo accounts (user / password):\n" + "\n".join(lines)


def is_empty(make_uow: UowFactory) -> bool:
    with make_uow() as uow:
        return not users_repo.all_users(uow.session)


def seed_demo(make_uow: UowFactory, demo_dir: Path = DEMO_DIR) -> list[str]:
    """Create the demo accounts and projects in one transaction; returns the project titles."""
    projects = json.loads((demo_dir / "projects.json").read_text(encoding="utf-8"))
    titles: list[str] = []
    with make_uow() as uow:
        users = {
            a.username: create_user(
                uow,
                username=a.username,
                password=a.password,
                email=f"{a.username}@{DEMO_DOMAIN}",
                display_name=a.display_name,
                is_admin=a.role == "admin",
            )
            for a in DEMO_ACCOUNTS
        }
        admin = users["admin"]
        for spec in projects:
            folder = demo_dir / spec["folder"]
            overlap = int(spec.get("overlap", 3))
            project = create_project(
                uow,
                admin,
                title=spec["title"],
                config_xml=(folder / "config.xml").read_text(encoding="utf-8"),
                description=spec.get("description", ""),
                instructions=spec.get("instructions", ""),
                # No escalation in the demo: disagreements go straight to the review queue, so a
                # reviewer has work from minute one.
                settings=ProjectSettings(
                    overlap=overlap,
                    maximum_annotations=overlap,
                    honeypot_rate=float(spec.get("honeypot_rate", 0.0)),
                    repeat_rate=float(spec.get("repeat_rate", 0.0)),
                ),
            )
            for account in DEMO_ACCOUNTS:
                if account.role != "admin":
                    add_member(uow, admin, project_id=project.id, user_id=users[account.username].id, role=account.role)
            with (folder / "tasks.json").open("rb") as stream:
                import_tasks_file(uow, admin, project_id=project.id, stream=stream, filename="tasks.json")
            record_active_times(uow, project.id)
            recompute_project(uow, admin, project.id)  # score the imported, fully labeled tasks
            titles.append(project.title)
        uow.commit()
    return titles


def demo_active_time(lead_time_s: float, created_at: dt.datetime) -> float:
    """A plausible active time for a demo annotation: a share in ACTIVE_SHARE of its lead time, drawn from a hash
    of the lead time and the submit time (stable across databases and runs, unlike ids), to the millisecond."""
    digest = hashlib.blake2b(f"{lead_time_s!r}|{created_at.isoformat()}".encode(), digest_size=8).digest()
    low, high = ACTIVE_SHARE
    share = low + (high - low) * int.from_bytes(digest, "big") / 2**64
    return round(lead_time_s * share, 3)


def record_active_times(uow: UnitOfWork, project_id: int) -> int:
    """Give the project's imported annotations the active time a real session records (Label Studio's JSON has
    only a lead time), so the demo's speed figures show active time too; how many were set."""
    rows = demo_repo.timed_annotations_without_active_time(uow.session, project_id)
    demo_repo.set_active_times(uow.session, [
        {"id": r.id, "active_time_s": demo_active_time(float(r.lead_time_s), r.created_at), "updated_at": r.updated_at}
        for r in rows
    ])
    return len(rows)


def active_demo_accounts(make_uow: UowFactory, *, demo_enabled: bool | None = None) -> list[DemoAccount]:
    """The demo accounts the sign-in page may list: only while the demo is on (``QUORUM_NO_DEMO`` unset,
    or ``demo_enabled``) and only those that still exist, are active and still have their demo password.
    A production database (no demo users) or a demo whose passwords were changed shows none."""
    if demo_enabled is None:
        demo_enabled = load_settings().seed_demo
    return unchanged_demo_accounts(make_uow) if demo_enabled else []


def demo_accounts_to_secure(make_uow: UowFactory, actor: UserInfo) -> list[DemoAccount]:
    """What an administrator is warned about: the demo accounts anyone could sign in as (their password is
    published). Others are not told (nothing for them to do, and no need to advertise it)."""
    return unchanged_demo_accounts(make_uow) if actor.is_admin and actor.is_active else []


def unchanged_demo_accounts(make_uow: UowFactory) -> list[DemoAccount]:
    """The active demo accounts whose password is still the published demo one: anyone can sign in as
    them, so an administrator is warned while there are any (whether or not the demo is listed)."""
    with make_uow() as uow:
        found = users_repo.by_usernames(uow.session, {a.username for a in DEMO_ACCOUNTS})
        return [
            a
            for a in DEMO_ACCOUNTS
            if (u := found.get(a.username)) is not None
            and u.is_active
            and (u.email or "").endswith("@" + DEMO_DOMAIN)
            and _still_demo_password(u.password_hash, a.password)
        ]


@functools.lru_cache(maxsize=64)
def _still_demo_password(stored_hash: str | None, demo_password: str) -> bool:
    """One argon2 check per account and stored hash per process: a changed password is a new hash (a new
    salt), so the cache never answers for it, and the sign-in page costs no argon2 run after the first."""
    return password_matches(stored_hash, demo_password)
