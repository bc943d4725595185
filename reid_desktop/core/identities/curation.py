"""Identities for analysts: components of "same" decisions, with stored names and notes, and the
edits (merge, split, delete a link) recorded as actions in the ledger so the audit trail keeps
everything and each edit undoes as one unit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from reid_desktop.core.identities.ledger import DecisionLedger
from reid_desktop.core.identities.links import LinkGraph
from reid_desktop.store import Action, Decision, Project
from reid_desktop.store.decisions import NewRow


@dataclass(frozen=True)
class IdentityRow:
    key: int  # smallest crop id: stable label until a merge or split changes the component
    crops: tuple[int, ...]
    cameras: dict[str, int] = field(default_factory=dict)  # camera name -> crop count
    name: str = ""
    notes: str = ""
    stored_id: int | None = None
    contradictions: int = 0  # "different" decisions inside this identity

    @property
    def label(self) -> str:
        return identity_label(self.key, self.name)


def identity_label(key: int, name: str = "") -> str:
    """How an identity is called on every screen and in every message: its stored name, else
    ID-<its smallest crop id>."""
    return name or f"ID-{key:04d}"


def _stored_owner(members: Iterable[int], member_of: dict[int, int]) -> int | None:
    """The stored identity most of these crops were saved with (None if none was)."""
    votes = Counter(member_of[c] for c in members if c in member_of)
    return votes.most_common(1)[0][0] if votes else None


class StoredNames:
    """The names analysts gave identities, and which one a group of crops carries (the one most
    of its crops were saved with), as `identity_rows` decides it: screens that follow the
    identities as they merge and split (Review) name them as the Identities tab does."""

    def __init__(self, project: Project) -> None:
        self.member_of = project.identities.member_map()
        self.names = {i.id: i.name for i in project.identities.all()}

    def label(self, key: int, members: Iterable[int]) -> str:
        sid = _stored_owner(members, self.member_of)
        return identity_label(key, self.names.get(sid, "") if sid is not None else "")


def identity_rows(project: Project, links: LinkGraph | Iterable[Decision] | None = None) -> list[IdentityRow]:
    """Every identity with its names and coverage; `links` from a ledger a screen keeps, or the
    decisions in force a caller already read (None: read them)."""
    if links is None:
        links = DecisionLedger(project).links
    elif not isinstance(links, LinkGraph):
        links = LinkGraph(links)
    cams = {c.id: c.name for c in project.cameras.all()}
    crop_cam = {c.id: cams[c.camera_id] for c in project.crops.all(include_missing=True)}
    member_of = project.identities.member_map()
    stored = {i.id: i for i in project.identities.all()}
    bad = Counter(links.component(x) for x, y in links.contradictions())
    rows = []
    for root, members in links.components().items():
        sid = _stored_owner(members, member_of)
        ident = stored.get(sid) if sid is not None else None
        rows.append(
            IdentityRow(
                key=min(members),
                crops=tuple(members),
                cameras=dict(Counter(crop_cam[c] for c in members if c in crop_cam)),
                name=ident.name if ident else "",
                notes=ident.notes if ident else "",
                stored_id=ident.id if ident else None,
                contradictions=bad.get(root, 0),
            )
        )
    return sorted(rows, key=lambda r: r.key)


def identity_names(project: Project, links: LinkGraph | None = None) -> dict[int, str]:
    """Identity key -> its stored name, for identities that have one."""
    return {r.key: r.name for r in identity_rows(project, links) if r.name}


def count_identities(project: Project, active: list[Decision] | None = None) -> int:
    """How many identities (components of "same" decisions) there are: the one definition that
    the app, `reid info`, the trainer and the exporter share."""
    active = project.decisions.active() if active is None else active
    return len(LinkGraph(active).components())


def save_name(project: Project, row: IdentityRow, name: str, notes: str) -> int:
    """Name (and annotate) an identity; its current crops become the stored members."""
    with project.write():
        if row.stored_id is None:
            ident = project.identities.create(name.strip(), notes)
            sid = ident.id
        else:
            sid = row.stored_id
            project.identities.update(sid, name=name.strip(), notes=notes)
        project.identities.set_members(sid, row.crops)
    return sid


def links_within(ledger: DecisionLedger, row: IdentityRow) -> list[Decision]:
    members = set(row.crops)
    return [
        d
        for d in ledger.active()
        if d.verdict == "same" and d.query_crop_id in members and d.candidate_crop_id in members
    ]


def merge(
    ledger: DecisionLedger,
    a: IdentityRow,
    b: IdentityRow,
    operator: str,
    crop_name: Callable[[int], str] = lambda c: f"crop {c}",
) -> Action:
    """Join two identities with one "same" decision (one action); refused when it would join
    crops declared different (the message names them)."""
    ledger.sync()
    if (witness := ledger.links.different_witness(a.key, b.key)) is not None:
        x, y = witness
        raise ValueError(
            f"{crop_name(x)} and {crop_name(y)} were declared different; merging "
            f"{a.label} and {b.label} would make them one person"
        )
    return ledger.record(
        "merge",
        [NewRow(a.key, b.key, "same")],
        operator=operator,
        note=f"merged {a.label} ({len(a.crops)} crops) and {b.label} ({len(b.crops)} crops)",
    )


def split_out(ledger: DecisionLedger, crop_ids: list[int], operator: str, label: str = "") -> Action | None:
    """Detach crops from their identity by voiding every "same" decision that touches them, as
    one action (None when none does)."""
    ledger.sync()
    wanted = set(crop_ids)
    rows = [
        d.id
        for d in ledger.active()
        if d.verdict == "same" and (d.query_crop_id in wanted or d.candidate_crop_id in wanted)
    ]
    if not rows:
        return None
    where = f" from {label}" if label else ""
    return ledger.void(rows, "split", operator=operator, note=f"split {len(wanted)} crop(s){where}")


def unlink(ledger: DecisionLedger, decision_id: int, operator: str, note: str = "") -> Action:
    """Delete one link ("same" decision) as one action; ValueError when it is no longer in force."""
    return ledger.void([decision_id], "unlink", operator=operator, note=note or "deleted a link")
