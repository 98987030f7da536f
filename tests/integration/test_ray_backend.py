"""The Ray backend against a real two-node Ray cluster on this machine.

Every test suite here records, per executed test, its node id and the Ray node it ran on
(``TESTFLEET_RAY_NODE``, set by the slot actor), so placement and "ran exactly once" are
checked from what really happened, not from testfleet's own report.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from ray_cluster import RayCluster, executions, outcomes, ray_cluster_fixture, run_testfleet, wait_for  # noqa: F401

pytestmark = pytest.mark.ray

RECORD = """
import os, pathlib

def record(request):
    with open(os.environ["EXEC_LOG"], "a") as fh:
        fh.write(f"{request.node.nodeid} {os.environ.get('TESTFLEET_RAY_NODE', '?')}\\n")
"""


def write_suite(root: Path, body: str) -> Path:
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "recorder.py").write_text(RECORD)
    (root / "conftest.py").write_text(
        textwrap.dedent("""
        import pytest
        from recorder import record

        @pytest.fixture(autouse=True)
        def _record(request):
            record(request)
    """)
    )
    (root / "test_suite.py").write_text(textwrap.dedent(body))
    return root


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


# --------------------------------------------------------------------- without Ray
def test_missing_ray_is_a_one_line_usage_error(tmp_path: Path) -> None:
    shim = tmp_path / "shim"
    (shim / "ray").mkdir(parents=True)
    (shim / "ray" / "__init__.py").write_text("raise ImportError('No module named ray (test shim)')\n")
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_a.py").write_text("def test_a():\n    pass\n")
    proc, _ = run_testfleet(suite, "--backend", "ray", env={"PYTHONPATH": str(shim)}, timeout=60)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    errors = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith("testfleet: error:")]
    assert errors == [
        "testfleet: error: --backend ray needs Ray, which is not installed; install it with: "
        "pip install 'testfleet[ray]'"
    ]


# --------------------------------------------------------------------- on the cluster
PLACEMENT_SUITE = """
import os, signal, time
import pytest

@pytest.mark.parametrize("i", range(6))
def test_plain(i):
    time.sleep(0.2)  # long enough that workers are fed one test ahead, not eight

@pytest.mark.fleet(tags=["gpu_sim"])
@pytest.mark.parametrize("i", range(3))
def test_gpu_sim(i):
    assert os.environ["TESTFLEET_RAY_NODE"] == os.environ["GPU_NODE"]

def test_crash():
    os.kill(os.getpid(), signal.SIGKILL)

@pytest.mark.parametrize("i", range(4))
def test_tail(i):  # work left after the crash, so its worker must be replaced
    time.sleep(0.3)

def test_hang():
    time.sleep(120)
"""


@pytest.fixture(scope="module")
def placement_run(ray_cluster: RayCluster, tmp_path_factory: pytest.TempPathFactory):
    root = write_suite(tmp_path_factory.mktemp("placement"), PLACEMENT_SUITE)
    log = root / "exec.log"
    t0 = time.monotonic()
    proc, report = run_testfleet(
        root,
        "--backend",
        "ray",
        "--ray-address",
        ray_cluster.address,
        "-w",
        "2",
        "--timeout",
        "4",
        "--db",
        str(root / "results.duckdb"),
        env={"EXEC_LOG": str(log), "GPU_NODE": ray_cluster.gpu_node.node_id},
    )
    return proc, report, executions(log), time.monotonic() - t0


def test_tagged_tests_run_only_on_the_node_with_that_resource(placement_run, ray_cluster) -> None:
    proc, report, runs, _ = placement_run
    out = outcomes(report)
    assert report["counts"] == {"passed": 13, "crashed": 1, "timeout": 1}, proc.stdout + proc.stderr
    gpu_runs = [node for nodeid, node in runs if "test_gpu_sim" in nodeid]
    assert gpu_runs == [ray_cluster.gpu_node.node_id] * 3
    assert all(out[f"test_suite.py::test_gpu_sim[{i}]"] == "passed" for i in range(3))
    assert "testfleet: 2 workers (ray, spawn)" in proc.stdout
    assert proc.returncode == 1


def test_the_store_records_each_workers_node_and_resources(placement_run, ray_cluster, tmp_path) -> None:
    from testfleet.store import open_store

    proc, report, _, _ = placement_run
    db = Path(proc.args[proc.args.index("--report-json") + 1]).parent / "results.duckdb"
    store = open_store(str(db), rootdir=tmp_path, readonly=True)
    try:
        workers = {w.worker_id: w for w in store.workers(report["run_id"])}
    finally:
        store.close()
    assert set(workers) >= {"w0", "w1"}
    gpu = [w for w in workers.values() if w.node == ray_cluster.gpu_node.node_id]
    assert gpu and all(
        w.capabilities["gpu_sim"] is True and w.capabilities["tags"] == ["gpu_sim"] for w in gpu
    )
    assert all(w.capabilities["node_resources"]["gpu_sim"] == 1.0 for w in gpu)
    assert {w.node for w in workers.values()} == {ray_cluster.gpu_node.node_id, ray_cluster.head.node_id}
    assert all(w.capabilities["node_ip"] and w.host for w in workers.values())


def test_a_test_that_kills_its_worker_is_crashed_and_the_worker_replaced(placement_run) -> None:
    proc, report, runs, _ = placement_run
    assert outcomes(report)["test_suite.py::test_crash"] == "crashed"
    assert "killed by signal 9 (SIGKILL) while running this test" in proc.stdout
    assert report["replacements"], "the crashed worker was not replaced"
    # Every test ran exactly once: nothing was lost or repeated with the replacement.
    assert sorted(n for n, _ in runs) == sorted(outcomes(report))


def test_a_hung_test_times_out_with_its_stacks(placement_run) -> None:
    proc, report, _, elapsed = placement_run
    assert outcomes(report)["test_suite.py::test_hang"] == "timeout"
    assert "Timeout: the test ran longer than 4s" in proc.stdout
    assert "Python stacks of every thread of the worker at the timeout" in proc.stdout
    assert re.search(r"test_suite.py\", line \d+ in test_hang", proc.stdout)  # faulthandler dump
    assert elapsed < 100


FLEET_SIZE_SUITE = """
import os
import pytest

@pytest.mark.parametrize("i", range(4))
def test_fleet(i):
    with open(os.environ["FLEET_LOG"], "a") as fh:
        fh.write(os.environ["TESTFLEET_WORKERS"] + "\\n")
"""


def test_without_w_the_fleet_is_one_worker_per_cpu_of_the_cluster(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    # The executor decides the fleet size once connected (its own copy of the settings, which
    # the controller adopts): the header, the scheduler's fleet and the workers all see it.
    # Three nodes of one CPU: the fleet differs from the default of -w (2).
    extra = ray_cluster.add_node()
    try:
        root = write_suite(tmp_path, FLEET_SIZE_SUITE)
        fleet_log = root / "fleet.log"
        proc, report = run_testfleet(
            root,
            "--backend",
            "ray",
            "--ray-address",
            ray_cluster.address,
            env={"EXEC_LOG": str(root / "exec.log"), "FLEET_LOG": str(fleet_log)},
            timeout=120,
        )
    finally:
        ray_cluster.kill_node(extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert report["counts"] == {"passed": 4}
    assert "testfleet: 3 workers (ray, spawn)" in proc.stdout
    assert fleet_log.read_text().split() == ["3"] * 4


NODE_LOSS_SUITE = """
import os, time
import pytest

def wait_for(path, limit=60.0):
    deadline = time.monotonic() + limit
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert os.path.exists(path), path

@pytest.mark.parametrize("i", range(8))
def test_work(i):
    if os.environ["TESTFLEET_RAY_NODE"] == os.environ["DOOMED_NODE"]:
        with open(os.environ["STARTED"], "w") as fh:
            fh.write(str(os.getpid()))
        wait_for(os.environ["RELEASE"])
    else:
        wait_for(os.environ["STARTED"])
"""


def test_losing_a_node_requeues_its_running_test_once_and_the_run_goes_on(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    doomed = ray_cluster.add_node(resources={"doomed": 1})
    root = write_suite(tmp_path, NODE_LOSS_SUITE)
    log, started, release = root / "exec.log", root / "started", root / "release"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "TESTFLEET_", "PYTEST_"))}
    env.update(EXEC_LOG=str(log), DOOMED_NODE=doomed.node_id, STARTED=str(started), RELEASE=str(release))
    report_path = root / "report.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "testfleet",
            "run",
            "--backend",
            "ray",
            "--ray-address",
            ray_cluster.address,
            "-w",
            "3",
            "--db",
            "none",
            "--report-json",
            str(report_path),
            "-p",
            "no:cacheprovider",
        ],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(started.exists, 120, "a test to start on the doomed node")
        ray_cluster.kill_node(doomed)
        # The node's workers die with it (as with a lost machine), and only then may the
        # test on it see the release: on a node that is really gone nothing finishes.
        t0 = time.monotonic()
        wait_for(lambda: not pid_alive(int(started.read_text())), 60, "the doomed node's worker to die")
        died_after = time.monotonic() - t0
        release.write_text("go")
        out, _ = proc.communicate(timeout=120)

    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    import json

    report = json.loads(report_path.read_text())
    assert proc.returncode == 0, out
    assert report["counts"] == {"passed": 8}
    assert len(report["lost_nodes"]) == 1, (report["lost_nodes"], out)
    [lost] = report["lost_nodes"]
    assert lost["node"] == doomed.node_id
    assert "died" in lost["reason"]
    [moved] = lost["requeued"]
    runs = executions(log)
    ran = [n for n, _ in runs]
    # The moved test ran twice (on the doomed node, then elsewhere); everything else once.
    assert sorted(ran) == sorted([*outcomes(report), moved])
    assert [node for n, node in runs if n == moved][0] == doomed.node_id
    assert [node for n, node in runs if n == moved][1] != doomed.node_id
    assert (
        f"testfleet: lost {doomed.node_id}: the Ray node at {lost['node_ip']} (host {lost['host']}) died; "
        f"re-queued: {moved}"
    ) in out
    assert next(t for t in report["tests"] if t["nodeid"] == moved)["attempts"] == 1
    assert died_after < 30


STRANDED_SUITE = """
import os, time
import pytest

def wait_for(path, limit=60.0):
    deadline = time.monotonic() + limit
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert os.path.exists(path), path

@pytest.mark.fleet(tags=["lonely"])
@pytest.mark.parametrize("i", range(3))
def test_needs_lonely(i):
    with open(os.environ["STARTED"], "w") as fh:
        fh.write(str(os.getpid()))
    wait_for(os.environ["RELEASE"])

@pytest.mark.parametrize("i", range(3))
def test_plain(i):
    time.sleep(0.1)
"""


def test_tests_only_a_lost_node_could_run_become_unschedulable(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    lonely = ray_cluster.add_node(resources={"lonely": 1})
    root = write_suite(tmp_path, STRANDED_SUITE)
    log, started, release = root / "exec.log", root / "started", root / "release"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "TESTFLEET_", "PYTEST_"))}
    env.update(EXEC_LOG=str(log), STARTED=str(started), RELEASE=str(release))
    report_path = root / "report.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "testfleet",
            "run",
            "--backend",
            "ray",
            "--ray-address",
            ray_cluster.address,
            "-w",
            "2",
            "--db",
            "none",
            "--report-json",
            str(report_path),
            "-p",
            "no:cacheprovider",
        ],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(started.exists, 120, "a lonely test to start on the lonely node")
        ray_cluster.kill_node(lonely)
        wait_for(lambda: not pid_alive(int(started.read_text())), 60, "the lonely node's worker to die")
        release.write_text("go")
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    import json

    report = json.loads(report_path.read_text())
    assert report["counts"] == {"passed": 3, "unschedulable": 3}, out
    assert proc.returncode == 1, out
    stranded = [t for t in report["tests"] if t["outcome"] == "unschedulable"]
    assert sorted(t["nodeid"] for t in stranded) == [
        f"test_suite.py::test_needs_lonely[{i}]" for i in range(3)
    ]
    assert all(
        t["message"] == f"no worker left can run it: needs tag 'lonely' (no worker advertises it; "
        f"use --tag lonely) (workers lost with: {lonely.node_id})"
        for t in stranded
    ), stranded
    [lost] = report["lost_nodes"]
    assert lost["node"] == lonely.node_id
    # Only the test that was running on the lost node ever started a lonely test.
    assert [n for n, node in executions(log) if "lonely" in n] == [lost["requeued"][0]]


def test_a_project_over_rays_size_limit_is_a_usage_error_naming_the_way_out(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    root = write_suite(tmp_path, "def test_a():\n    pass\n")
    (root / "data").mkdir()
    (root / "data" / "blob.bin").write_bytes(os.urandom(3 * 2**20))
    # Ray reads its package limit from this variable; 2 MiB stands for the real 512 MiB.
    limit = {"RAY_max_grpc_message_size": str(2 * 2**20)}
    proc, _ = run_testfleet(
        root, "--backend", "ray", "--ray-address", ray_cluster.address, "-w", "1", env=limit, timeout=90
    )
    assert proc.returncode == 4, proc.stdout + proc.stderr
    [error] = [
        ln for ln in proc.stdout.splitlines() + proc.stderr.splitlines() if ln.startswith("testfleet: error:")
    ]
    assert error.startswith(f"testfleet: error: --backend ray: the project {root} is ")
    assert (
        "over Ray's limit of 2.00MiB" in error
        and "--ray-exclude PATTERN" in error
        and "--ray-no-ship" in error
    )
    proc, report = run_testfleet(
        root,
        "--backend",
        "ray",
        "--ray-address",
        ray_cluster.address,
        "-w",
        "1",
        "--ray-exclude",
        "data",
        env={**limit, "EXEC_LOG": str(root / "exec.log")},
        timeout=90,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert report["counts"] == {"passed": 1}
