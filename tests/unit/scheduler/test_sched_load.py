"""LoadScheduler: estimates, units, LPT order, pulling, stealing, requeue, drain, orders, and a
discrete-event simulation that checks the makespan the algorithm promises."""

from __future__ import annotations

import heapq
import random
from collections.abc import Mapping, Sequence

import pytest

from testfleet.scheduler import protocol
from testfleet.scheduler.load import LoadScheduler, build_units, fill_estimates


def spec(
    i: int,
    name: str | None = None,
    *,
    module: str = "m.py",
    parent: str | None = None,
    scope: str | None = None,
) -> protocol.TestSpec:
    name = name or f"test_{i}"
    parent = module if parent is None else parent
    return protocol.TestSpec(
        index=i,
        nodeid=f"{parent}::{name}",
        module=module,
        parent=parent,
        name=name.split("[")[0],
        scope=scope,
    )


def plain(n: int) -> list[protocol.TestSpec]:
    return [spec(i) for i in range(n)]


def with_workers(sched: LoadScheduler, *ids: str) -> LoadScheduler:
    for wid in ids:
        sched.add_worker(protocol.WorkerSpec(wid))
    return sched


def pull_all(sched: LoadScheduler, worker: str = "w0") -> list[int]:
    out = []
    while (i := sched.next_for(worker)) is not None:
        out.append(i)
    return out


# --------------------------------------------------------------------------- estimates


def test_estimate_is_own_history_when_known() -> None:
    tests = plain(2)
    assert fill_estimates(tests, {"m.py::test_0": 3.5, "m.py::test_1": 0.25}) == {0: 3.5, 1: 0.25}


def test_no_history_at_all_estimates_every_test_at_one_second() -> None:
    assert fill_estimates(plain(3), {}) == {0: 1.0, 1: 1.0, 2: 1.0}


def test_estimate_borrows_parametrized_siblings_before_class() -> None:
    tests = [
        spec(0, "test_p[a]", parent="m.py::TestC"),
        spec(1, "test_p[b]", parent="m.py::TestC"),
        spec(2, "test_p[c]", parent="m.py::TestC"),  # no history: sibling median
        spec(3, "test_other", parent="m.py::TestC"),
    ]
    history = {"m.py::TestC::test_p[a]": 2.0, "m.py::TestC::test_p[b]": 4.0, "m.py::TestC::test_other": 100.0}
    assert fill_estimates(tests, history)[2] == 3.0  # median of 2 and 4, not the class's 4.0


def test_estimate_borrows_class_median_when_no_sibling_known() -> None:
    tests = [
        spec(0, "test_a", parent="m.py::TestC"),
        spec(1, "test_b", parent="m.py::TestC"),
        spec(2, "test_c", parent="m.py::TestC"),
        spec(3, "test_d", parent="m.py::TestD"),
    ]
    history = {"m.py::TestC::test_a": 1.0, "m.py::TestC::test_b": 5.0, "m.py::TestD::test_d": 50.0}
    assert fill_estimates(tests, history)[2] == 3.0


def test_estimate_borrows_module_median_when_class_unknown() -> None:
    tests = [
        spec(0, "test_a", parent="m.py::TestC"),
        spec(1, "test_b", parent="m.py::TestD"),
        spec(2, "test_c", parent="m.py::TestE"),
        spec(3, "test_x", module="n.py"),
    ]
    history = {"m.py::TestC::test_a": 2.0, "m.py::TestD::test_b": 6.0, "n.py::test_x": 80.0}
    assert fill_estimates(tests, history)[2] == 4.0


def test_estimate_falls_back_to_global_median() -> None:
    tests = [spec(0, module="a.py"), spec(1, module="b.py"), spec(2, module="c.py"), spec(3, module="d.py")]
    history = {"a.py::test_0": 1.0, "b.py::test_1": 2.0, "c.py::test_2": 9.0}
    assert fill_estimates(tests, history)[3] == 2.0


# --------------------------------------------------------------------------- units


def unit_lists(tests: Sequence[protocol.TestSpec]) -> list[list[int]]:
    return [list(u.tests) for u in build_units(tests)]


def test_module_scoped_neighbours_form_one_unit() -> None:
    tests = [spec(0, scope="module"), spec(1, scope="module"), spec(2, scope="module", module="n.py")]
    assert unit_lists(tests) == [[0, 1], [2]]


def test_class_scoped_tests_group_by_class() -> None:
    tests = [
        spec(0, parent="m.py::A", scope="class"),
        spec(1, parent="m.py::A", scope="class"),
        spec(2, parent="m.py::B", scope="class"),
        spec(3, parent="m.py::B", scope="class"),
    ]
    assert unit_lists(tests) == [[0, 1], [2, 3]]


def test_unscoped_tests_are_units_of_their_own() -> None:
    assert unit_lists(plain(3)) == [[0], [1], [2]]


def test_units_follow_collection_order_and_an_unscoped_test_breaks_a_run() -> None:
    tests = [spec(0, scope="module"), spec(1), spec(2, scope="module"), spec(3, scope="module")]
    units = build_units(tests)
    assert [list(u.tests) for u in units] == [[0], [1], [2, 3]]
    assert [u.order for u in units] == [0, 1, 2]


# --------------------------------------------------------------------------- order


def test_longest_unit_first_with_history() -> None:
    tests = plain(4)
    history = {"m.py::test_0": 1.0, "m.py::test_1": 5.0, "m.py::test_2": 3.0, "m.py::test_3": 4.0}
    assert pull_all(with_workers(LoadScheduler(tests, history), "w0")) == [1, 3, 2, 0]


def test_lpt_weighs_the_whole_unit_and_ties_keep_collection_order() -> None:
    tests = [spec(0), spec(1, scope="module", module="n.py"), spec(2, scope="module", module="n.py"), spec(3)]
    history = {"m.py::test_0": 2.0, "n.py::test_1": 1.5, "n.py::test_2": 1.5, "m.py::test_3": 2.0}
    # unit [1, 2] weighs 3.0; [0] and [3] tie at 2.0 and keep collection order
    assert pull_all(with_workers(LoadScheduler(tests, history), "w0")) == [1, 2, 0, 3]


def test_no_history_keeps_collection_order() -> None:
    assert pull_all(with_workers(LoadScheduler(plain(5)), "w0")) == [0, 1, 2, 3, 4]


def test_order_collection_ignores_history() -> None:
    history = {"m.py::test_0": 1.0, "m.py::test_1": 9.0, "m.py::test_2": 5.0}
    assert pull_all(with_workers(LoadScheduler(plain(3), history, order="collection"), "w0")) == [0, 1, 2]


def test_order_failed_first_by_rank_then_longest() -> None:
    history = {f"m.py::test_{i}": float(i) for i in range(5)}
    rank = {0: 2, 1: 0, 2: 2, 3: 0, 4: 1}
    sched = with_workers(LoadScheduler(plain(5), history, order="failed-first", rank=rank), "w0")
    assert pull_all(sched) == [3, 1, 4, 2, 0]


def test_order_value_by_rank_then_shortest() -> None:
    history = {f"m.py::test_{i}": float(10 - i) for i in range(5)}
    rank = {0: 2, 1: 0, 2: 2, 3: 0, 4: 1}
    sched = with_workers(LoadScheduler(plain(5), history, order="value", rank=rank), "w0")
    assert pull_all(sched) == [3, 1, 4, 2, 0]


def test_order_unranked_tests_come_after_ranked_ones() -> None:
    sched = with_workers(LoadScheduler(plain(3), order="failed-first", rank={2: 0}), "w0")
    assert pull_all(sched) == [2, 0, 1]


def test_order_random_is_deterministic_for_a_seed_and_not_collection_order() -> None:
    def order(seed: int) -> list[int]:
        return pull_all(with_workers(LoadScheduler(plain(12), order="random", seed=seed), "w0"))

    first = order(7)
    assert first == order(7)
    assert sorted(first) == list(range(12))
    assert first != list(range(12))
    assert order(8) != first


def test_order_random_shuffles_whole_units() -> None:
    tests = [spec(i, scope="module", module=f"mod{i // 3}.py") for i in range(12)]
    got = pull_all(with_workers(LoadScheduler(tests, order="random", seed=3), "w0"))
    chunks = [got[k : k + 3] for k in range(0, 12, 3)]
    assert sorted(chunks) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]
    assert chunks != sorted(chunks)


# --------------------------------------------------------------------------- pulling and stealing


def test_a_worker_finishes_its_unit_before_taking_another() -> None:
    tests = [spec(0, scope="module"), spec(1, scope="module"), spec(2, module="n.py")]
    sched = with_workers(LoadScheduler(tests, order="collection"), "w0", "w1")
    assert sched.next_for("w0") == 0
    assert sched.next_for("w1") == 2  # unit [0, 1] belongs to w0 now
    assert sched.next_for("w0") == 1


def test_idle_worker_steals_second_half_of_biggest_active_unit() -> None:
    small = [spec(i, scope="module", module="a.py") for i in range(3)]
    big = [spec(i, scope="module", module="b.py") for i in range(3, 9)]
    sched = with_workers(LoadScheduler(small + big, order="collection"), "w0", "w1", "w2")
    assert sched.next_for("w0") == 0  # a.py: 1, 2 left
    assert sched.next_for("w1") == 3  # b.py: 4..8 left, the most work
    assert sched.next_for("w2") == 6  # stole [6, 7, 8]
    assert list(sched.active["w1"].tests) == [4, 5]
    assert [sched.next_for("w2") for _ in range(2)] == [7, 8]
    # then w0 [1, 2] and w1 [4, 5] tie; the first active unit is the victim
    assert sched.next_for("w2") == 2
    assert sched.next_for("w2") == 5
    assert sched.next_for("w2") is None  # w0 [1] and w1 [4] are too small to split
    assert sched.pending() == 2


def test_steal_takes_the_larger_half_of_an_odd_remainder() -> None:
    tests = [spec(i, scope="module") for i in range(4)]
    sched = with_workers(LoadScheduler(tests), "w0", "w1")
    assert sched.next_for("w0") == 0
    assert sched.next_for("w1") == 2  # of [1, 2, 3] w0 keeps [1]
    assert sched.next_for("w0") == 1
    assert sched.next_for("w1") == 3
    assert sched.next_for("w0") is None


def test_no_steal_from_a_unit_with_one_test_left() -> None:
    tests = [spec(0, scope="module"), spec(1, scope="module")]
    sched = with_workers(LoadScheduler(tests), "w0", "w1")
    assert sched.next_for("w0") == 0
    assert sched.next_for("w1") is None
    assert sched.pending() == 1
    assert sched.next_for("w0") == 1


def test_a_worker_never_steals_from_itself() -> None:
    tests = [spec(0, scope="module"), spec(1, scope="module"), spec(2, scope="module")]
    sched = with_workers(LoadScheduler(tests), "w0")
    assert pull_all(sched) == [0, 1, 2]
    assert len(sched.active) == 0


def test_steal_happens_even_when_estimates_are_zero() -> None:
    tests = [spec(i, scope="module") for i in range(4)]
    history = {t.nodeid: 0.0 for t in tests}
    sched = with_workers(LoadScheduler(tests, history), "w0", "w1")
    assert sched.next_for("w0") == 0
    assert sched.next_for("w1") == 2


# --------------------------------------------------------------------------- requeue, pending, drain, workers


def test_requeue_puts_tests_at_the_front_in_the_given_order() -> None:
    sched = with_workers(LoadScheduler(plain(5)), "w0", "w1")
    assert [sched.next_for("w0"), sched.next_for("w1")] == [0, 1]
    sched.requeue([1, 0])
    assert pull_all(sched, "w1") == [1, 0, 2, 3, 4]


def test_pending_counts_hand_outs_requeues_and_steals_exactly() -> None:
    tests = [spec(i, scope="module") for i in range(4)] + [spec(4, module="n.py")]
    sched = with_workers(LoadScheduler(tests, order="collection"), "w0", "w1", "w2")
    assert sched.pending() == 5
    sched.next_for("w0")
    sched.next_for("w1")
    assert sched.pending() == 3
    assert sched.next_for("w2") == 2  # a steal moves tests but does not hand them out
    assert sched.pending() == 2
    sched.requeue([4])
    assert sched.pending() == 3
    assert sched.drain() == [4, 1, 3]
    assert sched.pending() == 0


def test_pending_is_exact_through_a_whole_run() -> None:
    tests = [spec(i, scope="module") for i in range(4)] + [spec(4, module="n.py")]
    sched = with_workers(LoadScheduler(tests, order="collection"), "w0", "w1", "w2")
    handed = []
    for wid in ["w0", "w1", "w2", "w0", "w1", "w2", "w0", "w1", "w2"]:
        i = sched.next_for(wid)
        if i is not None:
            handed.append(i)
        assert sched.pending() == 5 - len(handed)
    assert sorted(handed) == [0, 1, 2, 3, 4]


def test_drain_returns_queue_and_unit_remainders_and_empties_the_scheduler() -> None:
    tests = [
        spec(0, scope="module"),
        spec(1, scope="module"),
        spec(2, scope="module"),
        spec(3, module="n.py"),
        spec(4, module="o.py"),
    ]
    sched = with_workers(LoadScheduler(tests, order="collection"), "w0")
    assert sched.next_for("w0") == 0
    assert sorted(sched.drain()) == [1, 2, 3, 4]
    assert sched.pending() == 0
    assert sched.next_for("w0") is None
    assert sched.drain() == []


def test_removed_worker_gives_its_unit_back_to_the_front() -> None:
    tests = [
        spec(0, scope="module"),
        spec(1, scope="module"),
        spec(2, scope="module"),
        spec(3, module="n.py"),
    ]
    sched = with_workers(LoadScheduler(tests, order="collection"), "w0", "w1")
    assert sched.next_for("w0") == 0
    sched.remove_worker("w0")
    assert "w0" not in sched.workers
    assert pull_all(sched, "w1") == [1, 2, 3]


def test_protocol_notifications_are_no_ops_for_plain_load() -> None:
    sched = with_workers(LoadScheduler(plain(2)), "w0")
    i = sched.next_for("w0")
    sched.started("w0", i)
    assert sched.finished(i, "failed") == []
    sched.done("w0", i)
    assert sched.pending() == 1
    assert sched.estimate(0) == 1.0
    assert sched.estimate(99) == 0.0


# --------------------------------------------------------------------------- simulation


def simulate(sched: LoadScheduler, durations: Sequence[float], workers: int) -> tuple[float, list[int]]:
    """Drive ``sched`` with a fake clock: every worker asks when idle; returns (makespan, run order)."""
    ids = [f"w{k}" for k in range(workers)]
    with_workers(sched, *ids)
    events: list[tuple[float, str, int]] = []
    ran: list[int] = []

    def ask(wid: str, now: float) -> None:
        i = sched.next_for(wid)
        if i is not None:
            ran.append(i)
            sched.started(wid, i)
            heapq.heappush(events, (now + durations[i], wid, i))

    for wid in ids:
        ask(wid, 0.0)
    end = 0.0
    while events:
        end, wid, i = heapq.heappop(events)
        sched.done(wid, i)
        sched.finished(i, "passed")
        # A finish may free work for idle workers too (steals), so everyone idle asks again.
        busy = {w for _, w, _ in events}
        for other in [wid] + [w for w in ids if w != wid and w not in busy]:
            ask(other, end)
    return end, ran


def heavy_tailed(seed: int, n: int = 60) -> list[float]:
    """Pareto durations, the longest collected last."""
    rng = random.Random(seed)
    d = [round(rng.paretovariate(1.3), 3) for _ in range(n)]
    d.sort()
    longest = d.pop()
    rng.shuffle(d)
    return [*d, longest]


def history_of(tests: Sequence[protocol.TestSpec], durations: Sequence[float]) -> Mapping[str, float]:
    return {t.nodeid: durations[t.index] for t in tests}


def round_robin(durations: Sequence[float], workers: int) -> float:
    loads = [0.0] * workers
    for i, d in enumerate(durations):
        loads[i % workers] += d
    return max(loads)


SEEDS = range(8)
W = 4


@pytest.mark.parametrize("seed", SEEDS)
def test_simulated_makespan_with_history_is_near_the_lower_bound(seed: int) -> None:
    durations = heavy_tailed(seed)
    tests = plain(len(durations))
    makespan, ran = simulate(LoadScheduler(tests, history_of(tests, durations)), durations, W)
    assert sorted(ran) == list(range(len(durations)))
    bound = max(sum(durations) / W, max(durations))
    assert makespan <= 1.05 * bound


@pytest.mark.parametrize("seed", SEEDS)
def test_simulated_first_run_is_greedy_list_scheduling_in_collection_order(seed: int) -> None:
    """Without history every estimate is equal, so the longest test (collected last) starts
    last. Measured over these seeds the makespan is 1.27-1.69 x the lower bound, and it is *not*
    always better than static round robin (seed 2 loses to it: 1.305 vs 1.292). What holds
    always is Graham's bound for greedy list scheduling: no worker idles while tests are
    queued, so the last test starts by (total - longest) / W."""
    durations = heavy_tailed(seed)
    tests = plain(len(durations))
    makespan, ran = simulate(LoadScheduler(tests), durations, W)
    assert ran == list(range(len(durations)))
    total, longest = sum(durations), max(durations)
    assert makespan <= (total - longest) / W + longest + 1e-9
    with_history, _ = simulate(LoadScheduler(tests, history_of(tests, durations)), durations, W)
    assert with_history < makespan


def test_simulated_first_run_can_lose_to_round_robin() -> None:
    durations = heavy_tailed(2)
    makespan, _ = simulate(LoadScheduler(plain(len(durations))), durations, W)
    assert makespan > round_robin(durations, W)


def test_simulated_stealing_spreads_one_big_module_over_the_fleet() -> None:
    tests = [spec(i, scope="module") for i in range(20)]
    makespan, ran = simulate(LoadScheduler(tests), [1.0] * 20, W)
    assert sorted(ran) == list(range(20))
    assert makespan == 5.0  # ideal; without stealing one worker would take 20.0
