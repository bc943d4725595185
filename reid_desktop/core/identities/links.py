"""Identities implied by decisions: "same" decisions join crops (connected components);
"different" decisions are constraints between components (WBIA-style positive/negative graphs).

Both graphs are kept per component and updated as verdicts arrive, so a cannot-link between two
identities still holds after either merges with a third one, and asking for an identity's members
or constraints does not walk every decision."""

from __future__ import annotations

from collections.abc import Iterable

from reid_desktop.store import Decision


class UnionFind:
    """Union-find whose roots are the smallest crop id of their component (stable identity keys),
    with each root's member list kept up to date."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}
        self.members: dict[int, list[int]] = {}

    def find(self, x: int) -> int:
        parent = self.parent
        if x not in parent:
            parent[x] = x
            self.members[x] = [x]
            return x
        root = x
        while root != parent[root]:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if ra > rb:
            ra, rb = rb, ra
        self.parent[rb] = ra  # the smaller id is the root: stable component ids
        self.members[ra].extend(self.members.pop(rb))
        return True


class LinkGraph:
    """Components of "same" decisions plus "different" (and "skip") constraints between them,
    from the decisions in force."""

    def __init__(self, decisions: Iterable[Decision] = ()) -> None:
        self.uf = UnionFind()
        self.different: list[tuple[int, int]] = []
        self.decided: set[tuple[int, int]] = set()
        # Per component root: the roots it was declared different from / could not be told from.
        self.apart: dict[int, set[int]] = {}
        self.unsure: dict[int, set[int]] = {}
        for d in decisions:
            self.add(d.query_crop_id, d.candidate_crop_id, d.verdict)

    @staticmethod
    def key(a: int, b: int) -> tuple[int, int]:
        return (a, b) if a < b else (b, a)

    def add(self, a: int, b: int, verdict: str) -> None:
        self.decided.add(self.key(a, b))
        if verdict == "same":
            ra, rb = self.uf.find(a), self.uf.find(b)
            if self.uf.union(a, b):
                keep, gone = (ra, rb) if ra < rb else (rb, ra)
                for graph in (self.apart, self.unsure):
                    self._rekey(graph, keep, gone)
        elif verdict in ("different", "skip"):
            if verdict == "different":
                self.different.append((a, b))
            graph = self.apart if verdict == "different" else self.unsure
            ra, rb = self.uf.find(a), self.uf.find(b)
            graph.setdefault(ra, set()).add(rb)
            graph.setdefault(rb, set()).add(ra)

    @staticmethod
    def _rekey(graph: dict[int, set[int]], keep: int, gone: int) -> None:
        """`gone` merged into `keep`: its constraints now belong to `keep`."""
        moved = graph.pop(gone, set())
        if gone in moved:  # a constraint inside `gone` (a contradiction) stays inside `keep`
            moved = (moved - {gone}) | {keep}
        for other in moved:
            peers = graph.setdefault(other, set())
            peers.discard(gone)
            peers.add(keep)
        if moved:
            graph.setdefault(keep, set()).update(moved)

    def component(self, crop_id: int) -> int:
        return self.uf.find(crop_id)

    def members(self, crop_id: int) -> list[int]:
        """The crops of the identity containing `crop_id` (itself alone when never linked)."""
        return self.uf.members[self.uf.find(crop_id)]

    def linked(self, a: int, b: int) -> bool:
        return self.uf.find(a) == self.uf.find(b)

    def forbidden(self, a: int, b: int) -> bool:
        """True when joining a and b would merge components declared different."""
        return self.uf.find(b) in self.apart.get(self.uf.find(a), ())

    def undecidable(self, a: int, b: int) -> bool:
        """True when an operator said "can't tell" between the two components."""
        return self.uf.find(b) in self.unsure.get(self.uf.find(a), ())

    def forbidden_components(self) -> set[tuple[int, int]]:
        return {self.key(r, o) for r, others in self.apart.items() for o in others if r != o}

    def different_witness(self, a: int, b: int) -> tuple[int, int] | None:
        """A "different" crop pair that keeps the identities of a and b apart, if any."""
        ra, rb = self.uf.find(a), self.uf.find(b)
        for x, y in self.different:
            if {self.uf.find(x), self.uf.find(y)} == {ra, rb}:
                return x, y
        return None

    def contradictions(self) -> list[tuple[int, int]]:
        """ "different" pairs that "same" decisions have since joined into one identity."""
        return [(x, y) for x, y in self.different if self.uf.find(x) == self.uf.find(y)]

    def components(self) -> dict[int, list[int]]:
        return {root: sorted(m) for root, m in self.uf.members.items() if len(m) > 1}
