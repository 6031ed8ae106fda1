"""What a labeling-config change does to the work done under the old one, shown before it is saved.

Comparing two configs (pure, :func:`compare_configs`):

* options (Choice / Label / Relation / Bucket values, as results store them: ``alias`` over ``value``)
  removed from a control that stays, and options added;
* controls removed, renamed (a removed and an added control of the same tag with the same options, or,
  for option-less tags, the same target objects) or given another tag type under the same name (their
  results no longer fit);
* objects whose ``$variables`` changed, and objects added: tasks need the new data fields.

:func:`config_impact` adds what each item touches in the project: annotations using each removed
option, annotations with results for each removed, renamed or retyped control, tasks lacking each new
data field. Annotations keep the config version they were made under (``annotations.config_version``),
so nothing is rewritten; the manager decides knowing the numbers.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.config import ControlTag, LabelingConfig, validate_config
from core.permissions import Action, require
from core.uow import UnitOfWork
from core.users import UserInfo
from storage.repositories import config_versions as versions_repo

REMOVED = "removed"
RENAMED = "renamed"
RETYPED = "retyped"


@dataclass(frozen=True)
class OptionChange:
    """An option removed from (or added to) a control that exists in both configs."""

    control: str
    value: str
    n_annotations: int | None = None  # annotations using the removed option; None: not counted


@dataclass(frozen=True)
class ControlChange:
    name: str
    tag: str
    change: str  # REMOVED, RENAMED or RETYPED
    new_name: str | None = None  # RENAMED: the control's new name
    new_tag: str | None = None  # RETYPED: the new tag
    n_annotations: int | None = None  # annotations with results for this control

    def describe(self) -> str:
        if self.change == RENAMED:
            return f"<{self.tag} name=\"{self.name}\"> renamed to \"{self.new_name}\""
        if self.change == RETYPED:
            return f"\"{self.name}\" changes from <{self.tag}> to <{self.new_tag}>"
        return f"<{self.tag} name=\"{self.name}\"> removed"


@dataclass(frozen=True)
class ObjectChange:
    """An object whose data fields changed (or a new object): ``old_variables`` is empty for a new one."""

    name: str
    tag: str
    old_variables: tuple[str, ...]
    new_variables: tuple[str, ...]
    tasks_lacking: tuple[tuple[str, int], ...] = ()  # (new variable, tasks without it)


@dataclass(frozen=True)
class ConfigImpact:
    removed_options: tuple[OptionChange, ...] = ()
    controls: tuple[ControlChange, ...] = ()
    objects: tuple[ObjectChange, ...] = ()
    added_options: tuple[OptionChange, ...] = ()
    added_controls: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """No label, control or data field changes: layout, hotkeys, colours, text only. Anything else
        needs the manager's explicit confirmation before it is saved."""
        return not (self.removed_options or self.controls or self.objects or self.added_options or self.added_controls)

    @property
    def n_affected_annotations(self) -> int:
        """An upper bound on annotations touched (one annotation may use several removed things)."""
        return sum(o.n_annotations or 0 for o in self.removed_options) + sum(c.n_annotations or 0 for c in self.controls)

    def summary(self) -> list[str]:
        """One sentence per change, for the page, the CLI and the audit trail."""
        lines = [
            f"option \"{o.value}\" removed from \"{o.control}\""
            + (f": used by {o.n_annotations} annotation(s)" if o.n_annotations is not None else "")
            for o in self.removed_options
        ]
        lines += [
            c.describe() + (f": {c.n_annotations} annotation(s) have results for it" if c.n_annotations else "")
            for c in self.controls
        ]
        for o in self.objects:
            was = ", ".join(f"${v}" for v in o.old_variables) or "new object"
            lacking = "; ".join(f"{n} task(s) lack \"{v}\"" for v, n in o.tasks_lacking if n)
            lines.append(f"<{o.tag} name=\"{o.name}\"> reads {', '.join('$' + v for v in o.new_variables)} "
                         f"(was: {was})" + (f": {lacking}" if lacking else ""))
        lines += [f"option \"{o.value}\" added to \"{o.control}\"" for o in self.added_options]
        lines += [f"control \"{name}\" added" for name in self.added_controls]
        return lines


def _options(control: ControlTag) -> tuple[str, ...]:
    """Option values as results store them, in config order; () for dynamic options (from task data)."""
    if control.is_dynamic:
        return ()
    return tuple(dict.fromkeys(option.result_value for option in control.all_options()))


def _rename_target(old: ControlTag, candidates: list[ControlTag]) -> ControlTag | None:
    """The added control that is ``old`` under a new name: same tag, and the same options (controls
    with options) or the same target objects (option-less ones); same targets break ties."""
    same = [c for c in candidates if c.tag == old.tag and _options(c) == _options(old)]
    if not _options(old):
        same = [c for c in same if c.to_names == old.to_names]
    same.sort(key=lambda c: c.to_names != old.to_names)
    return same[0] if same else None


def compare_configs(old: LabelingConfig, new: LabelingConfig) -> ConfigImpact:
    """The changes from ``old`` to ``new`` (no counts: see :func:`config_impact`)."""
    removed_options: list[OptionChange] = []
    added_options: list[OptionChange] = []
    controls: list[ControlChange] = []
    for name, control in old.controls.items():
        after = new.controls.get(name)
        if after is None:
            continue
        if after.tag != control.tag:
            controls.append(ControlChange(name, control.tag, RETYPED, new_tag=after.tag))
            continue
        before_options, after_options = _options(control), _options(after)
        removed_options += [OptionChange(name, v) for v in before_options if v not in after_options]
        added_options += [OptionChange(name, v) for v in after_options if v not in before_options]
    added = [c for n, c in new.controls.items() if n not in old.controls]
    for name, control in old.controls.items():
        if name in new.controls:
            continue
        target = _rename_target(control, added)
        if target is not None:
            added.remove(target)
            controls.append(ControlChange(name, control.tag, RENAMED, new_name=target.name))
        else:
            controls.append(ControlChange(name, control.tag, REMOVED))
    objects = [
        ObjectChange(name, obj.tag, old.objects[name].variables if name in old.objects else (), obj.variables)
        for name, obj in new.objects.items()
        if name not in old.objects or old.objects[name].variables != obj.variables
    ]
    return ConfigImpact(tuple(removed_options), tuple(controls), tuple(objects), tuple(added_options),
                        tuple(c.name for c in added))


def _option_path(control: ControlTag) -> tuple[str, str, tuple[str, ...]] | None:
    """(match key, match value, path to the options) of a control's result items; None when its
    options are not strings in its results (Ranker buckets are keys of a mapping)."""
    if control.kind.result_type == "relation":  # relations have no from_name; their labels sit at the top
        return "type", "relation", ("labels",)
    value_key = control.kind.value_key
    if value_key is None or control.kind.option_kinds == frozenset({"Bucket"}):
        return None
    return "from_name", control.name, ("value", value_key)


def config_impact(uow: UnitOfWork, actor: UserInfo, *, project_id: int, new_xml: str) -> ConfigImpact:
    """Compare the project's config with ``new_xml`` and count what each change touches (managers).

    ``new_xml`` must pass validation (ConfigError listing every problem otherwise).
    """
    project = require(uow, actor, project_id, Action.MANAGE)
    old_cfg = validate_config(project.config_xml, allow_unsupported=True)
    new_cfg = validate_config(new_xml)
    diff = compare_configs(old_cfg, new_cfg)
    session = uow.session
    removed_options = []
    counts_by_control: dict[str, dict[str, int] | None] = {}
    for option in diff.removed_options:
        if option.control not in counts_by_control:
            where = _option_path(old_cfg.controls[option.control])
            counts_by_control[option.control] = (
                None if where is None
                else versions_repo.option_counts(session, project_id, match_key=where[0], match=where[1], path=where[2])
            )
        counts = counts_by_control[option.control]
        removed_options.append(OptionChange(option.control, option.value, None if counts is None else counts.get(option.value, 0)))
    per_control = versions_repo.control_counts(session, project_id) if diff.controls else {}
    controls = [ControlChange(c.name, c.tag, c.change, c.new_name, c.new_tag, per_control.get(c.name, 0)) for c in diff.controls]
    known = set(old_cfg.variables)
    objects = [
        ObjectChange(o.name, o.tag, o.old_variables, o.new_variables,
                     tuple((v, versions_repo.tasks_lacking(session, project_id, v)) for v in o.new_variables if v not in known))
        for o in diff.objects
    ]
    return ConfigImpact(tuple(removed_options), tuple(controls), tuple(objects), diff.added_options, diff.added_controls)
