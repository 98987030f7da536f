"""Ray's connection errors as one line naming the cluster and the way out."""

from __future__ import annotations

from testfleet.executor.ray_connect import MISSING_RAY, connect_error, first_line, where


def test_the_cluster_is_named_as_the_user_named_it() -> None:
    assert where("head:6379", True) == "--ray-address head:6379"
    assert where("head:6379", False) == "RAY_ADDRESS=head:6379"
    assert where(None, False) == "a local Ray instance"


def test_a_connection_failure_is_its_first_line() -> None:
    err = connect_error(
        "Could not find any running Ray instance.\nPlease specify ...\n",
        "ConnectionError",
        where("nowhere:1", True),
        "/p",
    )
    assert str(err) == "--backend ray: --ray-address nowhere:1: Could not find any running Ray instance."
    assert str(connect_error("", "TimeoutError", "a local Ray instance", "/p")) == (
        "--backend ray: a local Ray instance: TimeoutError"
    )


def test_a_runtime_env_failure_gives_its_cause_not_rays_traceback() -> None:
    text = (
        "Failed to set up runtime environment.\nTraceback (most recent call last):\n  File x\n"
        "ValueError: working_dir /p/missing does not exist\n"
    )
    assert str(connect_error(text, "RuntimeEnvSetupError", "RAY_ADDRESS=h:1", "/p")) == (
        "--backend ray: RAY_ADDRESS=h:1: ValueError: working_dir /p/missing does not exist"
    )


def test_a_project_over_the_size_limit_names_its_size_the_limit_and_the_ways_out() -> None:
    text = "Package size (3.01MiB) exceeds the maximum size of 2.00MiB. You can exclude large files ..."
    msg = str(connect_error(text, "ValueError", "a local Ray instance", "/src/app"))
    assert msg.startswith(
        "--backend ray: the project /src/app is 3.01MiB packed, over Ray's limit of 2.00MiB. "
    )
    assert "--ray-exclude PATTERN" in msg and "--ray-no-ship" in msg and "\n" not in msg


def test_first_line_and_the_missing_ray_message() -> None:
    assert first_line(RuntimeError("actor died\nmore")) == "actor died"
    assert first_line(RuntimeError()) == "RuntimeError"
    assert (
        MISSING_RAY
        == "--backend ray needs Ray, which is not installed; install it with: pip install 'testfleet[ray]'"
    )
