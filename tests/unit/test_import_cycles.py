"""No module imports a module that imports it back, directly or around a longer loop: the
dependencies of reid_desktop and trainer point one way (grimp reads every import statement,
including those inside functions)."""

from __future__ import annotations

import grimp

PACKAGES = ("reid_desktop", "trainer")


def import_cycles(graph, modules: set[str]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm, iterative)."""
    edges = {m: sorted(graph.find_modules_directly_imported_by(m) & modules) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(modules):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            if i < len(edges[node]):
                work.append((node, i + 1))
                nxt = edges[node][i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            for succ in edges[node]:  # children finished: take their low links
                if succ in on_stack:
                    low[node] = min(low[node], low[succ])
            if low[node] == index[node]:
                group = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    group.append(m)
                    if m == node:
                        break
                if len(group) > 1:
                    cycles.append(sorted(group))
    return cycles


class FakeGraph:
    def __init__(self, edges: dict[str, set[str]]) -> None:
        self.edges = edges

    def find_modules_directly_imported_by(self, m: str) -> set[str]:
        return self.edges.get(m, set())


def test_the_cycle_finder_finds_loops_of_any_length():
    g = FakeGraph({"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e2"}, "e2": {"e"}})
    assert sorted(import_cycles(g, set(g.edges))) == [["a", "b", "c"], ["e", "e2"]]
    assert import_cycles(FakeGraph({"a": {"b"}, "b": set()}), {"a", "b"}) == []


def test_no_module_imports_a_module_that_imports_it_back():
    graph = grimp.build_graph(*PACKAGES)
    modules = {m for m in graph.modules if m.split(".")[0] in PACKAGES}
    assert len(modules) > 100
    assert import_cycles(graph, modules) == []
