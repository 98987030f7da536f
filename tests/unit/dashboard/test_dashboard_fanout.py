"""Hub: a page that falls behind is dropped (its queue is bounded), the others keep getting
updates, and the server knows when every page has been sent the end of the run."""

from __future__ import annotations

import asyncio

from testfleet import events
from testfleet.dashboard.live import Hub
from testfleet.dashboard.state import LiveState


def test_a_page_that_does_not_read_is_dropped_and_the_others_are_not() -> None:
    async def scenario() -> tuple[list[int], Hub, bool, bool]:
        state = LiveState()
        hub = Hub(state, queue_size=3)
        slow, fast = hub.add(), hub.add()  # each got its snapshot
        got = []
        for i in range(5):
            state.handle(events.TestFinished(f"t.py::{i}", "failed", "w0", 0.1))
            hub.offer(slow)
            hub.offer(fast)
            while not fast.queue.empty():  # the fast page reads everything
                message = fast.queue.get_nowait()
                assert message is not None
                got.append(message["done"])
        return got, hub, slow.dropped, fast.dropped

    got, hub, slow_dropped, fast_dropped = asyncio.run(scenario())
    assert slow_dropped and not fast_dropped and hub.dropped == 1
    assert got == [0, 1, 2, 3, 4, 5]


def test_a_dropped_page_is_told_to_reconnect_and_nothing_else() -> None:
    async def scenario() -> list[object]:
        state = LiveState()
        hub = Hub(state, queue_size=2)
        page = hub.add()
        for _ in range(3):
            state.handle(events.WorkerUp("w0", 1, "h"))
            hub.offer(page)
        return [page.queue.get_nowait() for _ in range(page.queue.qsize())]

    assert asyncio.run(scenario()) == [None]  # the sentinel: close the socket, page resyncs


def test_each_message_carries_only_the_failures_the_page_does_not_have() -> None:
    async def scenario() -> list[list[str]]:
        state = LiveState()
        hub = Hub(state)
        page = hub.add()
        seen = []
        for name in ("a", "b"):
            state.handle(events.TestFinished(f"t.py::{name}", "failed", "w0", 0.1))
            hub.offer(page)
        while not page.queue.empty():
            message = page.queue.get_nowait()
            assert message is not None
            seen.append([f["nodeid"] for f in message["failures"]])
        return seen

    assert asyncio.run(scenario()) == [[], ["t.py::a"], ["t.py::b"]]


def test_settled_waits_for_pages_to_be_sent_the_end() -> None:
    async def scenario() -> list[bool]:
        state = LiveState()
        hub = Hub(state)
        answers = [hub.settled()]  # nobody connected: nothing to wait for
        page = hub.add()
        answers.append(hub.settled())
        state.handle(events.RunFinished("r", 1.0, 0, "finished", {}, 1.0))
        hub.polled("poller", state.view())  # a polling page that got the end
        page.saw_end = True
        answers.append(hub.settled())
        hub.polled("late", {**state.view(), "end": None})
        answers.append(hub.settled())
        return answers

    assert asyncio.run(scenario()) == [True, False, True, False]


def test_the_ticker_sends_when_the_state_changes() -> None:
    async def scenario() -> int:
        state = LiveState()
        hub = Hub(state, tick=0.01)
        page = hub.add()
        page.queue.get_nowait()  # the snapshot
        task = asyncio.ensure_future(hub.run())
        state.handle(events.WorkerUp("w0", 1, "h"))
        message = await asyncio.wait_for(page.queue.get(), timeout=5)
        task.cancel()
        assert message is not None
        return len(message["lanes"])

    assert asyncio.run(scenario()) == 1
