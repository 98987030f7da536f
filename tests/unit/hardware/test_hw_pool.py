"""The reservation book: whole GPUs, shares, GPU memory, host memory."""

from __future__ import annotations

from typing import Any

from testfleet.hardware.pool import Reservations, gpu_need

CAPS: dict[str, Any] = {
    "host": "h",
    "host_memory_gb": 23.0,
    "gpu_isolation": "shared",
    "gpu_visible": [1],
    "gpus": [{"index": 0, "memory_gb": 80.0}, {"index": 1, "memory_gb": 40.0}],
}


def test_gpu_need_reads_whole_gpus_shares_and_memory() -> None:
    assert gpu_need({}) is None and gpu_need({"memory_gb": 4}) is None
    need = gpu_need({"gpu": 2})
    assert need is not None and (need.count, need.share) == (2, 1.0)
    half = gpu_need({"gpu": 0.5})
    assert half is not None and (half.count, half.share) == (1, 0.5)
    mem = gpu_need({"gpu_memory_gb": 40})
    assert mem is not None and (mem.count, mem.share, mem.memory_gb) == (1, 0.0, 40.0)


def test_whole_gpus_are_never_held_twice_and_the_home_gpu_comes_first() -> None:
    book = Reservations()
    first = book.place({"gpu": 1}, CAPS)
    assert first is not None and [g for g, _, _ in first.gpus] == [1]  # the slot's own GPU
    book.hold(7, first)
    assert book.env(7) == {"CUDA_VISIBLE_DEVICES": "1"}
    second = book.place({"gpu": 1}, CAPS)
    assert second is not None and [g for g, _, _ in second.gpus] == [0]
    book.hold(8, second)
    assert book.place({"gpu": 1}, CAPS) is None
    assert book.place({"gpu": 0.1}, CAPS) is None
    book.release(7)
    assert book.place({"gpu": 2}, CAPS) is None
    book.release(8)
    both = book.place({"gpu": 2}, CAPS)
    assert both is not None and [g for g, _, _ in both.gpus] == [0, 1]


def test_shares_add_up_to_one_gpu() -> None:
    caps = dict(CAPS, gpus=[{"index": 0, "memory_gb": 80.0}], gpu_visible=[0])
    book = Reservations()
    for i in range(2):
        held = book.place({"gpu": 0.5}, caps)
        assert held is not None
        book.hold(i, held)
    assert book.place({"gpu": 0.5}, caps) is None
    book.release(0)
    assert book.place({"gpu": 0.5}, caps) is not None


def test_gpu_memory_places_by_what_is_free_on_each_gpu() -> None:
    book = Reservations()
    big = book.place({"gpu_memory_gb": 60}, CAPS)
    assert big is not None and [g for g, _, _ in big.gpus] == [0]  # GPU 1 has only 40 GB
    book.hold(1, big)
    small = book.place({"gpu_memory_gb": 30}, CAPS)
    assert small is not None and [g for g, _, _ in small.gpus] == [1]
    book.hold(2, small)
    assert book.place({"gpu_memory_gb": 25}, CAPS) is None  # 20 free on 0, 10 on 1
    assert book.place({"gpu_memory_gb": 15}, CAPS) is not None


def test_host_memory_reservations_never_exceed_the_host() -> None:
    book = Reservations()
    held = book.place({"memory_gb": 20}, CAPS)
    assert held is not None and held.memory_gb == 20
    book.hold(1, held)
    assert book.place({"memory_gb": 20}, CAPS) is None
    assert book.place({"memory_gb": 3}, CAPS) is not None
    book.release(1)
    assert book.place({"memory_gb": 20}, CAPS) is not None


def test_workers_without_the_pool_hold_nothing() -> None:
    ray_like = {"host": "n1", "gpu": 1, "memory_gb": 8}
    book = Reservations()
    held = book.place({"gpu": 1, "memory_gb": 8}, ray_like)
    assert held is not None and held.gpus == () and held.memory_gb == 0.0
