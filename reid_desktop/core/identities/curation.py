"""Identities for analysts: components of "same" decisions, with stored names and notes, and the
edits (merge, split, delete a link) expressed as decisions so the audit trail keeps everything."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from reid_desktop.core.identities.links import LinkGraph
from reid_desktop.store import Decision, Project


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
        return self.name or f"ID-{self.key:04d}"


def identity_rows(project: Project, active: list[Decision] | None = None) -> list[IdentityRow]:
    active = project.decisions.active() if active is None else active
    links = LinkGraph(active)
    cams = {c.id: c.name for c in project.cameras.all()}
    crop_cam = {c.id: cams[c.camera_id] for c in project.crops.all(include_missing=True)}
    member_of = dict(project.db.execute("SELECT crop_id, identity_id FROM identity_members").fetchall())
    stored = {i.id: i for i in project.identities.all()}
    bad = Counter(links.component(x) for x, y in links.contradictions())
    rows = []
    for root, members in links.components().items():
        votes = Counter(member_of[c] for c in members if c in member_of)
        sid = votes.most_common(1)[0][0] if votes else None
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


def links_within(project: Project, row: IdentityRow, active: list[Decision] | None = None) -> list[Decision]:
    members = set(row.crops)
    active = project.decisions.active() if active is None else active
    return [
        d
        for d in active
        if d.verdict == "same" and d.query_crop_id in members and d.candidate_crop_id in members
    ]


def merge(project: Project, a: IdentityRow, b: IdentityRow, operator: str) -> Decision:
    """Join two identities with one "same" decision; refused when it would join crops declared
    different (the message names them)."""
    links = LinkGraph(project.decisions.active())
    if links.forbidden(a.key, b.key):
        ca, cb = links.component(a.key), links.component(b.key)
        for x, y in links.different:
            if {links.component(x), links.component(y)} == {ca, cb}:
                raise ValueError(
                    f"crop {x} and crop {y} were declared different; merging "
                    f"{a.label} and {b.label} would make them one person"
                )
    return project.decisions.record(a.key, b.key, "same", operator=operator)


def split_out(project: Project, crop_ids: list[int], operator: str) -> list[Decision]:
    """Detach crops from their identity by voiding every "same" decision that touches them."""
    wanted = set(crop_ids)
    undo_rows = []
    with project.write():  # all or nothing
        for d in project.decisions.active():
            if d.verdict == "same" and (d.query_crop_id in wanted or d.candidate_crop_id in wanted):
                undo_rows.append(project.decisions.void(d.id, operator=operator))
    return undo_rows
