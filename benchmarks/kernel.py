"""The xparallel kernel against ipykernel, side by side in one run, through jupyter_client.

    python -m benchmarks.kernel [--rounds N] [--quick]

- start: kernel process launched to kernel_info reply (what `start_new_kernel` waits for), and to
  the reply of a first cell, median over interleaved rounds;
- shutdown: shutdown request to process exit, and the exit code;
- messages: a cell making 1,000 widget updates (comm messages), end to end (execute to idle with
  every update received), per message;
- output latency: `print('a'); print('b'); time.sleep(1)`, seconds from `a` to `b` received;
- thread output while idle: lines a user's thread prints in the second after its cell ended;
- an ordinary cell (no `%%parallel`), `[fib(27) for _ in range(8)]`, in ipykernel, the xparallel
  kernel, the xparallel kernel after one `%%parallel` cell (a warm idle pool) and the xparallel kernel
  embedding Python through libpython (`XPARALLEL_KERNEL_EMBEDDED=1`, how it ran before), all started
  side by side and the cell run in interleaved rounds: best wall (execute to idle) and best CPU time
  of the kernel's main thread (`time.thread_time` in the cell), as ratios to ipykernel.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import sys
import time
from typing import Any

from jupyter_client.manager import KernelManager

KERNELS = {"xparallel": "xparallel", "ipykernel": "python3"}


def _start(name: str) -> tuple[Any, Any, float]:
    started = time.perf_counter()
    km = KernelManager(kernel_name=name)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    return km, kc, time.perf_counter() - started


def _wait_idle(kc, msg_id: str, timeout: float = 60, on_message=None) -> float:
    deadline = time.monotonic() + timeout
    while True:
        message = kc.get_iopub_msg(timeout=max(0.01, deadline - time.monotonic()))
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        if on_message is not None:
            on_message(message)
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            return time.perf_counter()


def _run(kc, code: str, timeout: float = 60, on_message=None) -> float:
    started = time.perf_counter()
    msg_id = kc.execute(code)
    return _wait_idle(kc, msg_id, timeout, on_message) - started


def _drain(kc, quiet: float = 0.3) -> None:
    while True:
        try:
            kc.get_iopub_msg(timeout=quiet)
        except queue.Empty:
            return


def _stop(km, kc) -> tuple[float, int | None]:
    process = km.provisioner.process
    kc.stop_channels()
    started = time.perf_counter()
    km.shutdown_kernel(now=False)
    code = process.wait(timeout=30)
    return time.perf_counter() - started, code


def start_round(name: str) -> dict:
    km, kc, ready = _start(name)
    first = ready + _run(kc, "1 + 1")
    shutdown, code = _stop(km, kc)
    return {"ready": ready, "first_cell": first, "shutdown": shutdown, "exit_code": code}


def messages(name: str, count: int) -> float:
    km, kc, _ = _start(name)
    try:
        _run(kc, "import ipywidgets as w\ns = w.IntSlider(max=10**9)\ndisplay(s)")
        _drain(kc)
        seen = []

        def count_updates(message):
            if message["msg_type"] == "comm_msg":
                seen.append(1)

        elapsed = _run(kc, f"for i in range(1, {count + 1}):\n    s.value = i",
                       on_message=count_updates)
        assert len(seen) >= count, f"{name}: {len(seen)} of {count} widget updates arrived"
        return elapsed / count
    finally:
        _stop(km, kc)


def output(name: str) -> dict:
    km, kc, _ = _start(name)
    try:
        texts: list[tuple[float, str]] = []

        def record(message):
            if message["msg_type"] == "stream":
                texts.append((time.perf_counter(), message["content"]["text"]))

        _run(kc, "import time\nprint('a')\nprint('b')\ntime.sleep(1)", on_message=record)
        arrived = {}
        for at, text in texts:
            for line in text.splitlines():
                arrived.setdefault(line, at)
        gap = arrived["b"] - arrived["a"] if {"a", "b"} <= arrived.keys() else float("nan")

        msg_id = kc.execute("import threading, time\n"
                            "def chatter():\n"
                            "    for i in range(100000):\n"
                            "        print(i)\n"
                            "        time.sleep(0.0005)\n"
                            "threading.Thread(target=chatter, daemon=True).start()")
        _wait_idle(kc, msg_id)
        lines = 0
        until = time.monotonic() + 1.0
        while time.monotonic() < until:
            try:
                message = kc.get_iopub_msg(timeout=max(0.0, until - time.monotonic()))
            except queue.Empty:
                break
            if message["msg_type"] == "stream":
                lines += message["content"]["text"].count("\n")
        return {"print_gap": gap, "thread_lines_per_s": lines}
    finally:
        _stop(km, kc)


FIB = "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
ORDINARY_KERNELS = {  # label: (kernelspec, extra environment, warm pool)
    "ipykernel": ("python3", {}, False),
    "xparallel": ("xparallel", {}, False),
    "xparallel, warm pool": ("xparallel", {}, True),
    "xparallel, embedded libpython": ("xparallel", {"XPARALLEL_KERNEL_EMBEDDED": "1"}, False),
}


def _start_with(name: str, env: dict[str, str]) -> tuple[Any, Any]:
    km = KernelManager(kernel_name=name)
    km.start_kernel(env={**os.environ, **env})
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    return km, kc


def _cell_cpu(kc, code: str, timeout: float = 120) -> tuple[float, float]:
    """Wall time from execute to idle, and the CPU time of the thread that ran the cell."""
    texts: list[str] = []

    def record(message):
        if message["msg_type"] == "stream":
            texts.append(message["content"]["text"])

    wall = _run(kc, "import time as _time\n_t0 = _time.thread_time()\n" + code +
                "\nprint(_time.thread_time() - _t0)", timeout, record)
    return wall, float("".join(texts).split()[-1])


def ordinary_cell(rounds: int, n: int = 27) -> dict:
    code = f"_ = [fib({n}) for _ in range(8)]"
    kernels = {}
    try:
        for label, (name, env, warm) in ORDINARY_KERNELS.items():
            km, kc = _start_with(name, env)
            kernels[label] = (km, kc)
            _run(kc, FIB)
            if warm:
                if name == "python3":
                    _run(kc, "%load_ext xparallel")
                _run(kc, "%%parallel -b interpreters --quiet\nsq = [x * x for x in range(100)]")
            _drain(kc)
            _cell_cpu(kc, code)  # warm-up, not measured
        samples: dict[str, list[tuple[float, float]]] = {label: [] for label in kernels}
        for _ in range(rounds):
            for label, (_, kc) in kernels.items():
                samples[label].append(_cell_cpu(kc, code))
    finally:
        for km, kc in kernels.values():
            _stop(km, kc)
    best = {label: {"wall_s": min(w for w, _ in runs), "thread_cpu_s": min(c for _, c in runs)}
            for label, runs in samples.items()}
    base = best["ipykernel"]
    for figures in best.values():
        figures["wall_ratio"] = figures["wall_s"] / base["wall_s"]
        figures["cpu_ratio"] = figures["thread_cpu_s"] / base["thread_cpu_s"]
    return {"cell": code, "rounds": rounds, "kernels": best}


def print_ordinary_cell(result: dict) -> None:
    print(f"\n### An ordinary cell, `{result['cell']}` (best of {result['rounds']} interleaved "
          "rounds, kernels side by side)\n")
    print("| kernel | wall | main thread CPU | wall ratio | CPU ratio |")
    print("|---|---|---|---|---|")
    for label, f in result["kernels"].items():
        print(f"| {label} | {f['wall_s']:.3f} s | {f['thread_cpu_s']:.3f} s | "
              f"{f['wall_ratio']:.3f} | {f['cpu_ratio']:.3f} |")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.kernel", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="3 rounds, 300 messages")
    parser.add_argument("--cell-rounds", type=int, default=8, help="rounds of the ordinary cell")
    parser.add_argument("--fib", type=int, default=27, help="n of the ordinary cell's fib(n)")
    parser.add_argument("--cell-only", action="store_true", help="only the ordinary cell")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.messages, args.cell_rounds = 3, 300, 3
    if args.cell_only:
        result = ordinary_cell(args.cell_rounds, args.fib)
        print_ordinary_cell(result)
        return {"ordinary_cell": result}

    rounds: dict[str, list[dict]] = {label: [] for label in KERNELS}
    for name, spec in KERNELS.items():  # warm the file cache, not measured
        start_round(spec)
    for _ in range(args.rounds):
        for label, spec in KERNELS.items():
            rounds[label].append(start_round(spec))

    results: dict[str, Any] = {}
    for label, spec in KERNELS.items():
        runs = rounds[label]
        results[label] = {
            "ready_s": statistics.median(r["ready"] for r in runs),
            "first_cell_s": statistics.median(r["first_cell"] for r in runs),
            "shutdown_s": statistics.median(r["shutdown"] for r in runs),
            "exit_codes": sorted({r["exit_code"] for r in runs}),
            "per_message_us": messages(spec, args.messages) * 1e6,
            **output(spec),
        }
    x, ipy = results["xparallel"], results["ipykernel"]
    results["ratios"] = {
        "ready": x["ready_s"] / ipy["ready_s"],
        "first_cell": x["first_cell_s"] / ipy["first_cell_s"],
        "per_message": x["per_message_us"] / ipy["per_message_us"],
    }
    results["ordinary_cell"] = ordinary_cell(args.cell_rounds, args.fib)

    print(f"\n### Kernel (median of {args.rounds} interleaved rounds; {args.messages} widget updates)\n")
    print("| | xparallel | ipykernel | ratio |")
    print("|---|---|---|---|")
    print(f"| start to kernel_info reply | {x['ready_s']:.3f} s | {ipy['ready_s']:.3f} s | "
          f"{results['ratios']['ready']:.2f} |")
    print(f"| start to first cell's reply | {x['first_cell_s']:.3f} s | {ipy['first_cell_s']:.3f} s | "
          f"{results['ratios']['first_cell']:.2f} |")
    print(f"| shutdown to exit (exit codes) | {x['shutdown_s']:.3f} s ({x['exit_codes']}) | "
          f"{ipy['shutdown_s']:.3f} s ({ipy['exit_codes']}) | |")
    print(f"| per widget update, end to end | {x['per_message_us']:.0f} µs | "
          f"{ipy['per_message_us']:.0f} µs | {results['ratios']['per_message']:.2f} |")
    print(f"| `print('a'); print('b')`: a to b | {x['print_gap'] * 1e3:.0f} ms | "
          f"{ipy['print_gap'] * 1e3:.0f} ms | |")
    print(f"| thread output while idle, lines in 1 s | {x['thread_lines_per_s']} | "
          f"{ipy['thread_lines_per_s']} | |")
    print_ordinary_cell(results["ordinary_cell"])
    return results


if __name__ == "__main__":
    json.dump(main(sys.argv[1:]), sys.stdout, indent=1, default=str)
    print()
