"""Identities implied by decisions: "same" decisions join crops (connected components);
"different" decisions are constraints between components (WBIA-style positive/negative graphs)."""

from __future__ import annotations

from collections.abc import Iterable

from reid_desktop.store import Decision


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        parent = self.parent
        root = parent.setdefault(x, x)
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
        return True


class LinkGraph:
    """Components of "same" decisions plus "different" constraints, from active decisions."""

    def __init__(self, decisions: Iterable[Decision] = ()) -> None:
        self.uf = UnionFind()
        self.different: list[tuple[int, int]] = []
        self.decided: set[tuple[int, int]] = set()
        self._forbidden: set[tuple[int, int]] | None = None  # cache, rebuilt after any change
        for d in decisions:
            self.add(d.query_crop_id, d.candidate_crop_id, d.verdict)

    @staticmethod
    def key(a: int, b: int) -> tuple[int, int]:
        return (a, b) if a < b else (b, a)

    def add(self, a: int, b: int, verdict: str) -> None:
        self.decided.add(self.key(a, b))
        self._forbidden = None
        if verdict == "same":
            self.uf.union(a, b)
        elif verdict == "different":
            self.different.append((a, b))

    def component(self, crop_id: int) -> int:
        return self.uf.find(crop_id)

    def linked(self, a: int, b: int) -> bool:
        return self.uf.find(a) == self.uf.find(b)

    def forbidden(self, a: int, b: int) -> bool:
        """True when joining a and b would merge components declared different."""
        return self.key(self.uf.find(a), self.uf.find(b)) in self.forbidden_components()

    def forbidden_components(self) -> set[tuple[int, int]]:
        if self._forbidden is None:
            self._forbidden = {self.key(self.uf.find(x), self.uf.find(y)) for x, y in self.different}
        return self._forbidden

    def contradictions(self) -> list[tuple[int, int]]:
        """ "different" pairs that "same" decisions have since joined into one identity."""
        return [(x, y) for x, y in self.different if self.uf.find(x) == self.uf.find(y)]

    def components(self) -> dict[int, list[int]]:
        groups: dict[int, list[int]] = {}
        for x in list(self.uf.parent):
            groups.setdefault(self.uf.find(x), []).append(x)
        return {root: sorted(members) for root, members in groups.items() if len(members) > 1}
