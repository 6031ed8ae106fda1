"""Which tags of a labeling config are visible, given the current answers and the selected region.

Label Studio's ``visibleWhen`` (``mixins/Visibility.js``, ``tags/*`` docs) hides a tag -- a ``View``
container or a control such as ``Choices`` -- until a condition holds:

``choice-selected``
    ``whenTagName`` (a Choices/Taxonomy name) has a selection; with ``whenChoiceValue`` (several values
    comma-separated) one of those values is selected. Without ``whenTagName``: any Choices/Taxonomy has
    a selection (one of ``whenChoiceValue``, when given). For a ``perRegion`` Choices the answer of the
    selected region counts (Label Studio shows the selected region's choices in such a tag).
``choice-unselected``
    the opposite of ``choice-selected`` with the same attributes.
``region-selected``
    a region is selected; ``whenTagName`` narrows it to regions of that control (Label Studio >= 1.8
    compares the region's labeling control; older docs say the object tag, so either name matches),
    ``whenLabelValue`` (comma-separated) to regions with one of those labels, and ``whenRole`` (Quorum's
    Chat) to messages of one of those roles.
``no-region-selected``
    no region is selected.

A tag with ``whenChoiceValue`` but no ``visibleWhen`` is visible while any Choices has exactly that
value selected (the mixin's legacy branch); an unknown ``visibleWhen`` leaves the tag visible. A tag
is visible only if every ancestor is. Conditions read the answers of *visible* controls only (a hidden
control's answer is not submitted, so it cannot open another block); that is computed to a fixed point,
and a config whose conditions form a cycle stops after as many rounds as it has controls.

Submission (:func:`submittable`) follows Label Studio's ``Result.canBeSubmitted``: the answers of a
control hidden by a choice condition (its own or an ancestor's) are dropped, and a ``perRegion`` control
with ``whenLabelValue`` keeps its answers only for regions with one of those labels. Region conditions
do not drop answers: which region is selected is a passing UI state, not part of the annotation.

Pure functions on :class:`~core.config.model.LabelingConfig` and Label Studio result items; no I/O.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from core.config.model import ControlTag, LabelingConfig, TagNode

ResultItem = dict[str, Any]
NodePath = tuple[int, ...]
"""A node's position in the config tree: child indexes from the root (the root is ``()``)."""

CHOICE_SELECTED = "choice-selected"
CHOICE_UNSELECTED = "choice-unselected"
REGION_SELECTED = "region-selected"
NO_REGION_SELECTED = "no-region-selected"
LEGACY_CHOICE_VALUE = "choice-value"  # whenChoiceValue without visibleWhen (Visibility.js legacy branch)
CHOICE_WHENS = frozenset({CHOICE_SELECTED, CHOICE_UNSELECTED, LEGACY_CHOICE_VALUE})
REGION_WHENS = frozenset({REGION_SELECTED, NO_REGION_SELECTED})
CHOICE_TAGS = frozenset({"Choices", "Taxonomy"})


@dataclass(frozen=True)
class SelectedRegion:
    """The region a labeler has selected: its id, labeling control, object, labels and (Chat) role."""

    id: str
    from_name: str = ""
    to_name: str = ""
    labels: tuple[str, ...] = ()
    role: str | None = None


@dataclass(frozen=True)
class Condition:
    """A tag's ``visibleWhen`` with its ``whenTagName``/``whenChoiceValue``/``whenLabelValue``/``whenRole``."""

    when: str
    tag_name: str | None = None
    choice_values: tuple[str, ...] = ()
    label_values: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()

    @property
    def depends_on_selection(self) -> bool:
        """Whether the condition reads the selected region (rather than the answers)."""
        return self.when in REGION_WHENS


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def condition_of(node: TagNode | ControlTag) -> Condition | None:
    """The visibility condition written on ``node``, or None when it has none (always visible)."""
    when = (node.get("visibleWhen") or "").strip().lower()
    choice_value = (node.get("whenChoiceValue") or "").strip()
    if not when:
        return Condition(LEGACY_CHOICE_VALUE, choice_values=(choice_value,)) if choice_value else None
    if when not in CHOICE_WHENS | REGION_WHENS:
        return None  # Label Studio ignores an unknown visibleWhen: the tag stays visible
    return Condition(
        when=when,
        tag_name=(node.get("whenTagName") or "").strip() or None,
        choice_values=_split(choice_value),
        label_values=_split(node.get("whenLabelValue")),
        roles=_split(node.get("whenRole")),
    )


# --- reading answers -------------------------------------------------------------------------------

def _is_per_region(control: ControlTag | None) -> bool:
    return control is not None and control.per_region


def _selected_values(item: ResultItem, control: ControlTag | None) -> list[str]:
    """The chosen values of a choices/taxonomy item; a Taxonomy path counts by its leaf."""
    key = control.kind.value_key if control is not None and control.kind.value_key else item.get("type", "")
    raw = item.get("value", {}).get(key) if isinstance(item.get("value"), dict) else None
    if not isinstance(raw, list):
        return []
    return [str(v[-1]) if isinstance(v, list) and v else str(v) for v in raw if v not in (None, [])]


def _matches(wanted: str, chosen: list[str], control: ControlTag | None) -> bool:
    """Whether ``wanted`` (an option's value or alias, as Label Studio's ``findLabel``) is chosen."""
    if wanted in chosen:
        return True
    if control is None:
        return False
    return any(wanted in (o.value, o.alias) and o.result_value in chosen for o in control.all_options())


def _choice_answers(cfg: LabelingConfig, answers: Sequence[ResultItem], tag_name: str | None,
                    region_ids: frozenset[str] | None) -> list[tuple[ControlTag | None, list[str]]]:
    """``(control, chosen values)`` of the Choices/Taxonomy items a choice condition reads.

    ``region_ids``: the regions whose per-region answers count (None: any region's).
    """
    out: list[tuple[ControlTag | None, list[str]]] = []
    for item in answers:
        if not isinstance(item, dict):
            continue
        name = item.get("from_name")
        control = cfg.controls.get(str(name))
        if tag_name is not None and name != tag_name:
            continue
        if tag_name is None and (control is None or control.tag not in CHOICE_TAGS):
            continue
        if _is_per_region(control) and region_ids is not None and item.get("id") not in region_ids:
            continue
        chosen = _selected_values(item, control)
        if chosen:
            out.append((control, chosen))
    return out


def _choice_selected(cfg: LabelingConfig, condition: Condition, answers: Sequence[ResultItem],
                     region_ids: frozenset[str] | None) -> bool:
    found = _choice_answers(cfg, answers, condition.tag_name, region_ids)
    if not condition.choice_values:
        return bool(found)
    return any(_matches(v, chosen, control) for control, chosen in found for v in condition.choice_values)


def _region_matches(cfg: LabelingConfig, condition: Condition, region: SelectedRegion) -> bool:
    if condition.tag_name and condition.tag_name not in (region.from_name, region.to_name):
        return False
    if condition.label_values:
        control = cfg.controls.get(region.from_name)
        if not any(_matches(v, list(region.labels), control) for v in condition.label_values):
            return False
    return not condition.roles or region.role in condition.roles


def condition_holds(cfg: LabelingConfig, condition: Condition | None, answers: Sequence[ResultItem],
                    selected: Sequence[SelectedRegion] | None = (), *,
                    region_ids: frozenset[str] | None = None) -> bool:
    """Whether ``condition`` holds for these answers and this selection.

    ``selected``: the selected regions (normally none or one); None means the selection is not known
    (at submission): region conditions then hold. ``region_ids``: whose per-region answers a choice
    condition reads; by default those of the selected regions (none selected: none), as Label Studio
    shows the selected region's answer in a per-region Choices.
    """
    if condition is None:
        return True
    if condition.when in REGION_WHENS:
        if selected is None:
            return True
        if condition.when == NO_REGION_SELECTED:
            return not selected
        return any(_region_matches(cfg, condition, region) for region in selected)
    if region_ids is None and selected is not None:
        region_ids = frozenset(region.id for region in selected)
    if condition.when == LEGACY_CHOICE_VALUE:  # exact value, any Choices (Visibility.js legacy branch)
        return any(condition.choice_values[0] in chosen for _, chosen in _choice_answers(cfg, answers, None, region_ids))
    hit = _choice_selected(cfg, condition, answers, region_ids)
    return hit if condition.when == CHOICE_SELECTED else not hit


# --- the tree --------------------------------------------------------------------------------------

def _walk(node: TagNode, path: NodePath = ()) -> Iterator[tuple[NodePath, TagNode]]:
    yield path, node
    for index, child in enumerate(node.children):
        yield from _walk(child, (*path, index))


def node_at(cfg: LabelingConfig, path: NodePath) -> TagNode:
    """The node at ``path`` (IndexError when the path leaves the tree)."""
    node = cfg.root
    for index in path:
        node = node.children[index]
    return node


def _control_names_under(node: TagNode, cfg: LabelingConfig) -> set[str]:
    return {n.name for n in node.walk() if n.kind.is_control and n.name in cfg.controls}


def _hidden_once(cfg: LabelingConfig, answers: Sequence[ResultItem],
                 selected: Sequence[SelectedRegion] | None) -> tuple[frozenset[NodePath], frozenset[str]]:
    paths: set[NodePath] = set()
    controls: set[str] = set()
    stack: list[tuple[NodePath, TagNode]] = [((), cfg.root)]
    while stack:
        path, node = stack.pop()
        if not condition_holds(cfg, condition_of(node), answers, selected):
            paths.add(path)
            controls |= _control_names_under(node, cfg)
            continue
        if not (node.kind.is_control or node.kind.is_object):  # options and channels are not laid out
            stack.extend(((*path, i), child) for i, child in enumerate(node.children))
    return frozenset(paths), frozenset(controls)


def _without(result: Sequence[ResultItem], names: frozenset[str]) -> list[ResultItem]:
    return [item for item in result if not (isinstance(item, dict) and item.get("from_name") in names)]


def hidden_parts(cfg: LabelingConfig, result: Sequence[ResultItem],
                 selected: Sequence[SelectedRegion] | None = ()) -> tuple[frozenset[NodePath], frozenset[str]]:
    """``(paths of the outermost hidden tags, names of every control hidden by them)``.

    The paths are exactly where an interface walker stops descending. Conditions read the answers of
    visible controls only, computed to a fixed point (see the module docstring).
    """
    hidden_controls_: frozenset[str] = frozenset()
    paths: frozenset[NodePath] = frozenset()
    for _ in range(len(cfg.controls) + 1):
        paths, names = _hidden_once(cfg, _without(result, hidden_controls_), selected)
        if names == hidden_controls_:
            break
        hidden_controls_ = names
    return paths, hidden_controls_


def hidden_paths(cfg: LabelingConfig, result: Sequence[ResultItem],
                 selected: Sequence[SelectedRegion] | None = ()) -> frozenset[NodePath]:
    """Paths of the outermost tags hidden for ``result`` and ``selected`` (see :func:`hidden_parts`)."""
    return hidden_parts(cfg, result, selected)[0]


def hidden_controls(cfg: LabelingConfig, result: Sequence[ResultItem],
                    selected: Sequence[SelectedRegion] | None = ()) -> frozenset[str]:
    """Names of the controls hidden (by their own condition or an ancestor's) for ``result``."""
    return hidden_parts(cfg, result, selected)[1]


def chain_of(cfg: LabelingConfig, control_name: str) -> tuple[TagNode, ...]:
    """The control's node and its ancestors, root first; empty when the tree has no such control."""
    def find(node: TagNode, trail: tuple[TagNode, ...]) -> tuple[TagNode, ...]:
        trail = (*trail, node)
        if node.kind.is_control and node.name == control_name:
            return trail
        for child in node.children:
            found = find(child, trail)
            if found:
                return found
        return ()

    return find(cfg.root, ())


def shown_for_region(cfg: LabelingConfig, control_name: str, result: Sequence[ResultItem],
                     region: SelectedRegion) -> bool:
    """Whether a per-region control is shown while ``region`` is selected.

    Every condition on the control and its ancestors is read with that region selected and with its
    own per-region answers (a nested ``choice-selected`` on another per-region Choices of the region).
    """
    answers = _without(result, hidden_controls(cfg, result, (region,)) - {control_name})
    return all(condition_holds(cfg, condition_of(node), answers, (region,), region_ids=frozenset({region.id}))
               for node in chain_of(cfg, control_name))


# --- submission ------------------------------------------------------------------------------------

def region_labels(cfg: LabelingConfig, result: Sequence[ResultItem], region_id: str) -> tuple[str, ...]:
    """The labels of region ``region_id``: the label values of its region-control items."""
    out: list[str] = []
    for item in result:
        if not isinstance(item, dict) or item.get("id") != region_id:
            continue
        control = cfg.controls.get(str(item.get("from_name")))
        if control is not None and control.kind.is_region and control.kind.value_key:
            labels = item.get("value", {}).get(control.kind.value_key)
            if isinstance(labels, list):
                out.extend(str(v) for v in labels if isinstance(v, str))
    return tuple(out)


def _item_submittable(cfg: LabelingConfig, item: ResultItem, answers: Sequence[ResultItem],
                      chains: dict[str, tuple[TagNode, ...]]) -> bool:
    name = str(item.get("from_name"))
    control = cfg.controls.get(name)
    if control is None:
        return True  # not a control's answer (a Chat message, a relation): not ours to judge
    per_region = _is_per_region(control)
    if per_region and item.get("id"):
        wanted = _split(control.get("whenLabelValue"))
        if wanted and not any(_matches(v, list(region_labels(cfg, answers, item["id"])), None) for v in wanted):
            return False  # Label Studio: a perRegion control with whenLabelValue answers only such regions
    region_ids = frozenset({item["id"]}) if per_region and item.get("id") else None
    for node in chains.get(name, ()):
        condition = condition_of(node)
        if condition is not None and not condition.depends_on_selection and not condition_holds(
                cfg, condition, answers, None, region_ids=region_ids):
            return False
    return True


def submittable(cfg: LabelingConfig, result: Sequence[ResultItem]) -> list[ResultItem]:
    """``result`` without the answers Label Studio would not submit (see the module docstring).

    Items are kept in order and unchanged; relations whose ends were dropped are dropped too.
    """
    chains = {name: chain_of(cfg, name) for name in cfg.controls}
    current = list(result)
    for _ in range(len(cfg.controls) + 1):  # a dropped answer may close another condition
        kept = [item for item in current if not isinstance(item, dict) or _item_submittable(cfg, item, current, chains)]
        if len(kept) == len(current):
            break
        current = kept
    ids = {item.get("id") for item in current if isinstance(item, dict) and item.get("type") != "relation"}
    return [item for item in current if not (isinstance(item, dict) and item.get("type") == "relation"
                                             and (item.get("from_id") not in ids or item.get("to_id") not in ids))]


def has_conditions(cfg: LabelingConfig) -> bool:
    """Whether any tag of the config is shown only on a condition (most configs have none, and the submit
    path then skips :func:`submittable`)."""
    return any(condition_of(node) is not None for node in cfg.root.walk())


def controls_read_by_conditions(cfg: LabelingConfig) -> frozenset[str]:
    """Names of the controls whose answers some ``visibleWhen`` reads (choice conditions).

    The labeling page keeps the other answers in the browser until submit; these must reach the server as
    they change, since what the page shows depends on them. A choice condition without ``whenTagName``
    reads every choice control.
    """
    names: set[str] = set()
    for node in cfg.root.walk():
        condition = condition_of(node)
        if condition is None or condition.when not in CHOICE_WHENS:
            continue
        if condition.tag_name:
            names.update(_split(condition.tag_name))
        else:
            names.update(name for name, control in cfg.controls.items() if control.tag in CHOICE_TAGS)
    return frozenset(names)
