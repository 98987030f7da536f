"""File times for --collectors' split (testfleet.split_history): written after a run, read by
every collector; a file's weight is its time, the median time, or (no times) its size."""

from __future__ import annotations

from pathlib import Path

from testfleet.split_history import FileWeights, file_times, read_weights, update_weights, weights_path


def test_times_are_summed_per_file_and_merged_into_the_file(tmp_path: Path) -> None:
    path = tmp_path / "results.duckdb.files.json"
    assert read_weights(path) == {}
    update_weights(path, file_times([("a.py::t1", 0.5), ("a.py::t2", 0.25), ("pkg/b.py::C::t", 1.0)]))
    assert read_weights(path) == {"a.py": 0.75, "pkg/b.py": 1.0}
    update_weights(path, {"a.py": 2.0})  # files this run did not run keep their time
    assert read_weights(path) == {"a.py": 2.0, "pkg/b.py": 1.0}


def test_a_malformed_file_means_no_times(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    for text in ("not json", "[]", '{"format": "other", "files": {}}', '{"format": "testfleet-file-times"}'):
        path.write_text(text)
        assert read_weights(path) == {}
    path.write_text('{"format": "testfleet-file-times", "files": {"a.py": 1, "b.py": "x", "c.py": -1}}')
    assert read_weights(path) == {"a.py": 1.0}
    assert read_weights(None) == {}


def test_weights_path_sits_beside_the_store(tmp_path: Path) -> None:
    assert weights_path("none", tmp_path, tmp_path) is None
    assert weights_path(None, tmp_path, tmp_path) == tmp_path / ".testfleet" / "results.duckdb.files.json"
    assert (
        weights_path("x/r.duckdb", tmp_path / "cwd", tmp_path)
        == tmp_path / "cwd" / "x" / "r.duckdb.files.json"
    )


def test_a_files_weight_is_its_time_else_the_median_time_else_its_size(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x" * 10)
    (tmp_path / "new.py").write_text("x" * 1000)
    weigh = FileWeights({"a.py": 3.0, "b.py": 1.0, "c.py": 2.0}, tmp_path)
    assert weigh(tmp_path / "a.py") == 3.0
    assert weigh(tmp_path / "new.py") == 2.0  # not run yet: the median
    assert weigh(Path("/elsewhere/x.py")) == 2.0
    by_size = FileWeights({}, tmp_path)
    assert by_size(tmp_path / "new.py") == 1000.0
    assert by_size(tmp_path / "missing.py") == 0.0
