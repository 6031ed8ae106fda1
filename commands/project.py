"""`project create|list|add-member`: projects from the command line."""
from __future__ import annotations

import argparse
from pathlib import Path

from commands._common import actor, add_actor_option, emit, uow_factory
from core.errors import QuorumError


def _read_config(args: argparse.Namespace) -> str:
    if args.config:
        try:
            return Path(args.config).read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise QuorumError(f"{args.config}: no such file") from exc
        except UnicodeDecodeError as exc:
            raise QuorumError(f"{args.config}: not UTF-8 text") from exc
    from core.templates import get_template

    return get_template(args.template).xml


def _create(args: argparse.Namespace) -> int:
    from core.projects import ProjectSettings, create_project

    config_xml = _read_config(args)
    settings = ProjectSettings(overlap=args.overlap, maximum_annotations=args.maximum_annotations)
    with uow_factory()() as uow:
        project = create_project(
            uow,
            actor(uow, args),
            title=args.title,
            config_xml=config_xml,
            description=args.description,
            instructions=args.instructions,
            settings=settings,
        )
        uow.commit()
    emit(args, {"id": project.id, "title": project.title}, f"created project {project.title!r} (id {project.id})")
    return 0


def _list(args: argparse.Namespace) -> int:
    from core.projects import list_my_projects

    with uow_factory()() as uow:
        projects = list_my_projects(uow, actor(uow, args))
    lines = [
        f"{p.id:>4}  {p.title:<40} {p.n_tasks:>8} tasks {p.n_done:>8} done {p.n_annotations:>8} annotations"
        for p in projects
    ]
    emit(args, [p.__dict__ | {"roles": sorted(p.roles)} for p in projects], "\n".join(lines) or "no projects")
    return 0


def _add_member(args: argparse.Namespace) -> int:
    from core.projects import add_member, find_project_id
    from core.users import resolve_login

    with uow_factory()() as uow:
        project_id = find_project_id(uow, args.project)
        if project_id is None:
            raise QuorumError(f"no project titled {args.project!r}")
        member = resolve_login(uow, args.user)
        add_member(uow, actor(uow, args), project_id=project_id, user_id=member.id, role=args.role)
        uow.commit()
    print(f"{member.username} is now {args.role} in {args.project!r}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    project = sub.add_parser("project", help="create and list projects, add members")
    project_sub = project.add_subparsers(dest="project_command", metavar="ACTION", required=True)
    create = project_sub.add_parser(
        "create",
        help="create a project from a labeling config file or a template",
        description="Create a project.\n\nexamples:\n  python cli.py project create 'Reviews' --config sentiment.xml"
        " --overlap 3\n  python cli.py project create 'Cars' --template object-detection-boxes",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    create.add_argument("title")
    source = create.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", metavar="FILE.xml", help="a Label Studio labeling config")
    source.add_argument("--template", metavar="SLUG", help="a template of the gallery (see `templates list`)")
    create.add_argument("--description", default="")
    create.add_argument("--instructions", default="", help="instructions for labelers (markdown)")
    create.add_argument("--overlap", type=int, default=1, help="annotations per task (default 1)")
    create.add_argument("--maximum-annotations", type=int, help="escalate up to this many annotators")
    create.add_argument("--json", action="store_true")
    add_actor_option(create)
    create.set_defaults(handler=_create)
    lst = project_sub.add_parser("list", help="list projects with progress", description="example: python cli.py project list")
    lst.add_argument("--json", action="store_true")
    add_actor_option(lst)
    lst.set_defaults(handler=_list)
    member = project_sub.add_parser(
        "add-member",
        help="give a user a role in a project",
        description="example: python cli.py project add-member 'Reviews' alice annotator",
    )
    member.add_argument("project", help="project title")
    member.add_argument("user", help="user name or e-mail")
    member.add_argument("role", choices=("annotator", "reviewer", "manager"))
    add_actor_option(member)
    member.set_defaults(handler=_add_member)
