"""The impact walk agrees with a plain breadth-first search on any graph, cycles included."""

from __future__ import annotations

from collections import deque

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careline.cmdb.impact import affected_item_ids, item_impact
from careline.cmdb.models import ConfigItem, Relationship
from tests.conftest import Hospital

KINDS = ["depends_on", "runs_on", "connects_to"]
edges = st.lists(
    st.tuples(st.integers(0, 11), st.integers(0, 11), st.sampled_from(KINDS)).filter(
        lambda e: e[0] != e[1]
    ),
    max_size=40,
    unique_by=lambda e: e,
)


def reference(start: int, graph: list[tuple[int, int, str]]) -> set[int]:
    """Everything that (transitively) points at `start`, by a textbook BFS."""
    seen, queue = {start}, deque([start])
    while queue:
        node = queue.popleft()
        for source, target, _ in graph:
            if target == node and source not in seen:
                seen.add(source)
                queue.append(source)
    return seen


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(graph=edges, start=st.integers(0, 11))
def test_the_walk_finds_exactly_what_a_bfs_finds(
    hospital: Hospital, graph: list[tuple[int, int, str]], start: int
) -> None:
    with transaction.atomic():
        items = ConfigItem.objects.bulk_create(
            ConfigItem(name=f"node-{n}", item_type="server") for n in range(12)
        )
        ids = [item.pk for item in items]
        Relationship.objects.bulk_create(
            Relationship(source_id=ids[s], target_id=ids[t], kind=k) for s, t, k in graph
        )
        expected = {ids[n] for n in reference(start, graph)}
        assert affected_item_ids(ids[start]) == expected
        assert item_impact(ids[start]).item_count == len(expected)
        transaction.set_rollback(True)
