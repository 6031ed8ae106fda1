"""`storage list|sync|export`: a project's S3 connections from the command line (e.g. a nightly cron sync)."""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from commands._common import actor, add_actor_option, emit, uow_factory
from core.errors import QuorumError

if TYPE_CHECKING:
    from core.cloud_storage import ConnectionInfo
    from core.uow import UnitOfWork
    from core.users import UserInfo


def _connection(uow: UnitOfWork, acting: UserInfo, project: str, connection_id: int) -> ConnectionInfo:
    """The connection, checked to belong to the named project (so a typo cannot sync another project)."""
    from commands.data import _project_id
    from core.cloud_storage import get_connection

    project_id = _project_id(uow, project)
    info = get_connection(uow, acting, connection_id=connection_id)
    if info.project_id != project_id:
        raise QuorumError(f"storage connection {connection_id} does not belong to project {project!r}")
    return info


def _list(args: argparse.Namespace) -> int:
    from commands.data import _project_id
    from core.cloud_storage import list_connections

    with uow_factory()() as uow:
        infos = list_connections(uow, actor(uow, args), project_id=_project_id(uow, args.project))
    lines = [
        f"{i.id}\t{i.direction}\t{i.location}\t{i.endpoint_url or 'AWS'}\t{i.mode}\t"
        f"{'credentials saved' if i.credentials_saved else 'environment credentials'}\t"
        f"last sync {i.last_sync_at:%Y-%m-%d %H:%M} UTC" if i.last_sync_at else
        f"{i.id}\t{i.direction}\t{i.location}\t{i.endpoint_url or 'AWS'}\t{i.mode}\t"
        f"{'credentials saved' if i.credentials_saved else 'environment credentials'}\tnever synced"
        for i in infos
    ]
    payload = [{k: v for k, v in i.__dict__.items()} for i in infos]
    emit(args, payload, "\n".join(lines) or f"no storage connections in {args.project!r}")
    return 0


def _sync(args: argparse.Namespace) -> int:
    from core.cloud_storage import sync_connection

    with uow_factory()() as uow:
        acting = actor(uow, args)
        _connection(uow, acting, args.project, args.connection_id)
        summary = sync_connection(uow, acting, connection_id=args.connection_id)
        uow.commit()  # the whole sync or nothing
    emit(
        args,
        summary.as_dict(),
        f"{summary.n_new} new objects, {summary.n_tasks} tasks ({summary.n_changed} changed, {summary.n_skipped} "
        f"unchanged skipped, {summary.n_duplicates} duplicates, {summary.n_matched} of {summary.n_listed} objects "
        f"matched) in {summary.seconds:.2f} s",
    )
    return 0


def _export(args: argparse.Namespace) -> int:
    from core.cloud_storage import export_to_target

    with uow_factory()() as uow:
        acting = actor(uow, args)
        _connection(uow, acting, args.project, args.connection_id)
        summary = export_to_target(
            uow, acting, connection_id=args.connection_id, fmt=args.format, per_task=args.per_task,
            selection=args.selection,
        )
    emit(
        args,
        {**summary.__dict__, "keys": list(summary.keys)},
        f"exported {summary.n_tasks} tasks as {summary.format} to {len(summary.keys)} object(s)"
        + (f"; {summary.n_left_out} tasks without consensus or ground truth left out" if summary.n_left_out else ""),
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    storage = sub.add_parser(
        "storage",
        help="S3 sources and targets of a project: list, sync, export",
        description="Work with a project's storage connections (add them on the Cloud storage page).\n\n"
        "example: python cli.py storage sync 'Cars' 3",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = storage.add_subparsers(dest="storage_command", metavar="ACTION")
    listing = actions.add_parser("list", help="the project's connections (credentials are never shown)")
    listing.add_argument("project", help="project title")
    listing.add_argument("--json", action="store_true")
    add_actor_option(listing)
    listing.set_defaults(handler=_list)
    sync = actions.add_parser("sync", help="import new and changed objects of a source (all or nothing)")
    sync.add_argument("project", help="project title")
    sync.add_argument("connection_id", type=int, metavar="CONNECTION_ID")
    sync.add_argument("--json", action="store_true")
    add_actor_option(sync)
    sync.set_defaults(handler=_sync)
    export = actions.add_parser("export", help="export the project to a target bucket")
    export.add_argument("project", help="project title")
    export.add_argument("connection_id", type=int, metavar="CONNECTION_ID")
    export.add_argument("--format", default="JSON", type=str.upper)
    export.add_argument("--per-task", action="store_true", help="one object per task instead of one file")
    export.add_argument("--selection", default="all", choices=["all", "consensus"],
                        help="all: every annotation with its author; consensus: ground truth, else consensus")
    export.add_argument("--json", action="store_true")
    add_actor_option(export)
    export.set_defaults(handler=_export)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run through cli.py")
