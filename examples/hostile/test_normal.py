"""Two well-behaved tests, so a run over this directory always has a pass and a plain failure."""


def test_passes() -> None:
    assert 1 + 1 == 2


def test_fails() -> None:
    assert 1 + 1 == 3, "this test fails on purpose"
