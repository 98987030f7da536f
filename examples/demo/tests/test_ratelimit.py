import time

import pytest
from shopkit import TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_a_full_bucket_allows_a_burst(clock: FakeClock) -> None:
    bucket = TokenBucket(capacity=3, rate=1.0, clock=clock)
    assert [bucket.try_acquire() for _ in range(4)] == [True, True, True, False]


@pytest.mark.parametrize(("elapsed", "expected"), [(0.5, 0.5), (1.0, 1.0), (2.5, 2.5), (60.0, 3.0)])
def test_refill_is_proportional_and_capped(clock: FakeClock, elapsed: float, expected: float) -> None:
    bucket = TokenBucket(capacity=3, rate=1.0, clock=clock)
    assert bucket.try_acquire(3)
    clock.advance(elapsed)
    assert bucket.tokens() == pytest.approx(expected)


@pytest.mark.parametrize(("capacity", "rate"), [(0, 1.0), (1, 0.0), (-1, 1.0)])
def test_invalid_settings_are_rejected(capacity: int, rate: float) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        TokenBucket(capacity=capacity, rate=rate)


@pytest.mark.slow
def test_real_clock_refills() -> None:
    """Uses the real monotonic clock, so it really waits (about 0.3 s)."""
    bucket = TokenBucket(capacity=1, rate=5.0)
    assert bucket.try_acquire()
    assert not bucket.try_acquire()
    time.sleep(0.3)
    assert bucket.try_acquire()
