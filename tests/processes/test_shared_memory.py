"""NumPy arrays to worker processes through shared memory, through the real magic in a real kernel:
results, cleanup of /dev/shm, the spec sent once per worker, memory bounded."""

from __future__ import annotations

import glob
import os
import pickle
import sys
import time

import psutil
import pytest

from kernel_client import execute, value

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
from benchmarks.memory import PeakSampler  # noqa: E402

MB = 2**20


def ok(kc, code: str, timeout: float = 120):
    run = execute(kc, code, timeout=timeout)
    assert run.status == "ok", (code, run.stderr, [m["content"] for m in run.of_type("error")])
    return run


def kernel_pid(km) -> int:
    return km.provisioner.process.pid


def segments(km) -> list[str]:
    """The kernel's shared-memory segments now."""
    return glob.glob(f"/dev/shm/xparallel-{kernel_pid(km)}-*")


def workers_read(km) -> int:
    """Bytes every process under the kernel has read through read(2) and the like (pipes
    included, memory maps not)."""
    total = 0
    for process in psutil.Process(kernel_pid(km)).children(recursive=True):
        try:
            total += process.io_counters().read_chars
        except psutil.NoSuchProcess:
            pass
    return total


def make_array(kc, mb: int, name: str = "a") -> None:
    ok(kc, f"import numpy as np\n{name} = np.random.default_rng(7).random({mb} * {MB // 8})")


def warm(kc) -> None:
    """Workers started and NumPy imported in them, so that a measurement sees only the run."""
    ok(kc, "%%parallel -b processes -w 2 --quiet --chunksize 1\n"
           "import numpy\nwarm = [float(numpy.sqrt(x)) for x in range(4)]")


# ---- results ----------------------------------------------------------------------------------
@pytest.mark.timeout(120)
def test_slices_of_a_captured_array_give_numpys_results(km, kc):
    make_array(kc, 16)
    ok(kc, "n = a.size // 64\nexpected = [float(a[i * n:(i + 1) * n].sum()) for i in range(64)]")
    ok(kc, "%%parallel -b processes -w 2 --quiet\n"
           "sums = [float(a[i * n:(i + 1) * n].sum()) for i in range(64)]")
    assert value(kc, "sums == expected") is True
    assert segments(km) == []


@pytest.mark.timeout(120)
def test_every_layout_and_dtype_arrives_intact(km, kc):
    ok(kc, "import numpy as np\n"
           "arrays = {'fortran': np.asfortranarray(np.arange(600_000.0).reshape(600, 1000)),\n"
           "          'strided': np.arange(1_000_000)[::3],\n"
           "          'small': np.arange(10),\n"
           "          'records': np.zeros(200_000, dtype=[('x', 'f8'), ('n', 'i4')]),\n"
           "          'ints': np.arange(3_000_000, dtype=np.int16)}\n"
           "arrays['records']['n'] = np.arange(200_000)\n"
           "readonly = np.frombuffer(bytes(range(256)) * 8192, dtype=np.uint8)\n"
           "def fingerprint(v):  # strides: pickle makes a strided view contiguous\n"
           "    fortran = v.flags.f_contiguous and not v.flags.c_contiguous\n"
           "    return (v.shape, str(v.dtype), fortran, v.tobytes())")
    ok(kc, "%%parallel -b processes -w 2 --quiet --chunksize 1\n"
           "got = [fingerprint(arrays[k]) for k in sorted(arrays)]")
    assert value(kc, "got == [fingerprint(arrays[k]) for k in sorted(arrays)]") is True
    # A read-only array stays read-only in the workers, as pickle keeps it.
    ok(kc, "%%parallel -b processes -w 2 --quiet\nflags = [readonly.flags.writeable for _ in range(2)]")
    assert value(kc, "flags") == [False, False]
    assert segments(km) == []


@pytest.mark.timeout(120)
def test_a_worker_writing_to_a_captured_array_changes_only_its_own_copy(km, kc):
    make_array(kc, 8, "w")
    ok(kc, "w[:] = 1.0")
    # Each item writes its index into the array, then reads it back and sums: a worker sees its
    # own writes (copy-on-write), never another worker's, and the notebook's array is untouched.
    ok(kc, "%%parallel -b processes -w 2 --quiet --chunksize 1\n"
           "def mark(i):\n    w[i] = 10.0 + i\n    return float(w[i]), float(w[-1])\n"
           "marks = [mark(i) for i in range(8)]")
    assert value(kc, "marks") == [(10.0 + i, 1.0) for i in range(8)]
    assert value(kc, "bool((w == 1.0).all())") is True


@pytest.mark.timeout(120)
def test_a_large_spec_without_arrays_travels_once_too(km, kc):
    ok(kc, "table = {i: str(i) for i in range(200_000)}")
    ok(kc, "%%parallel -b processes -w 2 --quiet\nnames = [table[i * 1000] for i in range(200)]")
    assert value(kc, "names == [str(i * 1000) for i in range(200)]") is True
    assert segments(km) == []


# ---- /dev/shm is left clean -------------------------------------------------------------------
@pytest.mark.timeout(120)
def test_a_failing_item_leaves_no_shared_memory(km, kc):
    make_array(kc, 16)
    for errors in ("raise", "skip", "collect"):
        run = execute(kc, f"%%parallel -b processes -w 2 --quiet --errors {errors}\n"
                          "r = [float(a[i]) / (i - 5) for i in range(20)]")
        assert run.status == ("error" if errors == "raise" else "ok"), run.stderr
        assert segments(km) == [], errors
    assert value(kc, "len(r)") == 20  # collect: the exception in the failed item's place


@pytest.mark.timeout(120)
def test_an_interrupt_leaves_no_shared_memory_and_the_next_cell_runs(km, kc):
    make_array(kc, 32)
    warm(kc)
    msg_id = kc.execute("%%parallel -b processes -w 2 --quiet --chunksize 1\n"
                        "def spin(i):\n    total = float(a[i])\n    while True:\n        total += 1\n"
                        "r = [spin(i) for i in range(8)]")
    deadline = time.monotonic() + 30
    while not segments(km) and time.monotonic() < deadline:
        time.sleep(0.05)
    shared = segments(km)
    time.sleep(1.0)  # the workers are in spin() now, the segment mapped
    km.interrupt_kernel()
    reply = kc.get_shell_msg(timeout=10)
    assert shared, "the run did not put the array in shared memory"
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert segments(km) == []
    ok(kc, "%%parallel -b processes -w 2 --quiet\nr = [float(a[i]) for i in range(4)]")
    assert value(kc, "r == [float(x) for x in a[:4]]") is True
    assert segments(km) == []


# ---- the spec goes once per worker, memory stays bounded ----------------------------------------
@pytest.mark.timeout(170)
def test_the_captured_array_is_not_sent_with_every_chunk(km, kc):
    """Before shared memory, every chunk carried the pickled spec, the array inside: 16 chunks of
    a 32 MB array meant 512 MB read by the workers through their pipes."""
    make_array(kc, 32)
    warm(kc)
    before = workers_read(km)
    ok(kc, "%%parallel -b processes -w 2 --quiet --chunksize 4\n"
           "firsts = [float(a[i * 50_000]) for i in range(64)]")
    read = workers_read(km) - before
    assert value(kc, "_parallel.timeline.__len__()") == 16
    assert value(kc, "firsts == [float(a[i * 50_000]) for i in range(64)]") is True
    assert read < 4 * MB, f"the workers read {read / MB:.1f} MB for a 32 MB array in 16 chunks"


@pytest.mark.timeout(170)
def test_peak_memory_of_the_kernel_and_its_workers_stays_near_the_arrays_size(km, kc):
    """The array is copied once, into shared memory, and the workers map it: the process tree's
    peak (shared pages counted once) rises by about the array's size, not by a multiple of it."""
    size_mb = 128
    make_array(kc, size_mb)
    ok(kc, "n = a.size // 64\nexpected = [float(a[i * n:(i + 1) * n].sum()) for i in range(64)]")
    warm(kc)
    time.sleep(0.5)
    with PeakSampler(kernel_pid(km), interval=0.01) as sampler:
        ok(kc, "%%parallel -b processes -w 2 --quiet\n"
               "sums = [float(a[i * n:(i + 1) * n].sum()) for i in range(64)]")
    assert value(kc, "sums == expected") is True
    rise = sampler.rise / MB
    assert rise < 1.5 * size_mb, f"peak rose by {rise:.0f} MB for a {size_mb} MB array"


# ---- the pickle itself ------------------------------------------------------------------------
def test_captured_values_keep_large_buffers_aside_and_pickle_whole_for_other_transports():
    np = pytest.importorskip("numpy")
    from xparallel import outofband

    big, small = np.arange(2**18, dtype=np.float64), np.arange(10)
    captured = outofband.dumps({"big": big, "small": small, "k": 3})
    assert isinstance(captured, outofband.OutOfBand)
    assert len(captured) < 4096 and captured.nbytes == big.nbytes
    loaded = pickle.loads(captured, buffers=captured.buffers)
    assert (loaded["big"] == big).all() and (loaded["small"] == small).all() and loaded["k"] == 3
    # Shipped by a transport that knows nothing of the buffers: a self-contained pickle arrives.
    again = pickle.loads(pickle.dumps({"captured": captured}, 5))["captured"]
    assert type(again) is bytes and (pickle.loads(again)["big"] == big).all()
    assert type(outofband.dumps({"k": 3, "small": small})) is bytes


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kernel_name", ["xparallel", "python3"])
def test_a_kernel_shut_down_mid_run_leaves_no_shared_memory(kernel_name):
    from kernel_client import start, stop

    km, kc = start(kernel_name)
    try:
        if kernel_name == "python3":
            ok(kc, "%load_ext xparallel")
        pid = kernel_pid(km)
        make_array(kc, 16)
        kc.execute("%%parallel -b processes -w 2 --quiet --chunksize 1\n"
                   "def spin(i):\n    total = float(a[i])\n    while True:\n        total += 1\n"
                   "r = [spin(i) for i in range(8)]")
        deadline = time.monotonic() + 30
        while not glob.glob(f"/dev/shm/xparallel-{pid}-*") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert glob.glob(f"/dev/shm/xparallel-{pid}-*"), "the run did not use shared memory"
    finally:
        stop(km, kc)
    deadline = time.monotonic() + 10  # multiprocessing's resource tracker may be the one to clean
    while glob.glob(f"/dev/shm/xparallel-{pid}-*") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert glob.glob(f"/dev/shm/xparallel-{pid}-*") == []


@pytest.mark.timeout(120)
def test_large_results_are_held_once_in_the_kernel(km, kc):
    """A chunk's pickled results are dropped once unpickled: the kernel's peak rises by about the
    results' size, not twice it (every chunk's pickle used to stay referenced until the job's end)."""
    count = 96
    warm(kc)
    time.sleep(0.5)
    with PeakSampler(kernel_pid(km), interval=0.01) as sampler:
        # Chunks of 4 items: a chunk in flight is held up to three times (pipe, message, results).
        ok(kc, "%%parallel -b processes -w 2 --quiet --chunksize 4\n"
               f"blobs = [bytes((i % 251,)) * {MB} for i in range({count})]")
    assert value(kc, f"[b[0] for b in blobs] == [i % 251 for i in range({count})]") is True
    assert value(kc, f"all(len(b) == {MB} for b in blobs)") is True
    rise = sampler.rise / MB
    ok(kc, "del blobs")
    assert rise < 1.5 * count, f"peak rose by {rise:.0f} MB for {count} MB of results"


@pytest.mark.timeout(120)
def test_workers_let_the_last_jobs_array_go_at_the_next_job(km, kc):
    """A worker keeps the job's arrays mapped while the job runs; the next job, even a small one
    without shared memory, lets them go, so the segment's pages do not outlive their use."""
    size_mb = 64
    make_array(kc, size_mb)
    warm(kc)
    time.sleep(0.5)
    sampler = PeakSampler(kernel_pid(km))
    sampler.start()
    sampler.stop()
    before = sampler.baseline
    ok(kc, "%%parallel -b processes -w 2 --quiet --chunksize 1\n"
           "firsts = [float(a[i * 100_000:].sum()) for i in range(8)]")
    # Items of 50 ms, one a chunk: both workers take part in the small job.
    ok(kc, "%%parallel -b processes -w 2 --quiet --chunksize 1\nimport time\n"
           "small = [time.sleep(0.05) or x for x in range(8)]")
    time.sleep(0.5)
    held = (sampler.sample() - before) / MB
    assert held < size_mb / 2, f"{held:.0f} MB still held after the next job"
