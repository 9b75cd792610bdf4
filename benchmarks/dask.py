"""`%%parallel -b dask` against the client's own `client.map(pure=False)` on the same cluster, side
by side in one run (DESIGN §6: CPU-bound within 10 %, per item at most 0.1x client.map's cost).

    python -m benchmarks.dask [--quick] [--workers N]

The magic runs end to end (parsing, capture, chunking, gathering, the summary) in an in-process
IPython shell whose notebook client is the cluster's; rounds interleave the contenders so that a
shared machine's drift hits them alike, and each figure is a median.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import statistics
import sys
import time
from typing import Any, Callable

from . import workloads as w


def _timed(function: Callable[[], Any]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def _magic(shell: Any, cell: str) -> Callable[[], None]:
    def run() -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            result = shell.run_cell(cell)
        result.raise_error()

    return run


def _client_map(client: Any, function: Callable, items: list) -> Callable[[], list]:
    def run() -> list:
        return client.gather(client.map(function, items, pure=False))

    return run


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dask")
    parser.add_argument("--quick", action="store_true", help="one round, fewer items")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    rounds = 1 if args.quick else 5
    per_item_count = 4_000 if args.quick else 20_000

    from distributed import Client, LocalCluster
    from IPython.core.interactiveshell import InteractiveShell

    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, host="127.0.0.1", silence_logs=logging.ERROR)
    client = Client(cluster)  # the notebook's current client: what -b dask uses
    try:
        shell = InteractiveShell.instance()
        shell.run_cell("%load_ext xparallel")
        shell.run_cell("from benchmarks import workloads as w")
        fib_items = [25] * 32
        expected_fib = [w.fib(25)] * 32
        contenders = {
            "cpu: client.map": _client_map(client, w.fib, fib_items),
            "cpu: %%parallel -b dask": _magic(shell, "%%parallel -b dask --quiet\n"
                                                     "r = [w.fib(n) for n in [25] * 32]"),
        }
        for run in contenders.values():  # workers warm, functions imported, cell spec cached
            run()
        assert shell.user_ns["r"] == expected_fib
        times: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(rounds):
            for name, run in contenders.items():
                times[name].append(_timed(run))

        items = list(range(per_item_count))
        per_item = {
            "items: client.map": _client_map(client, w.add_one, items),
            "items: %%parallel -b dask": _magic(shell, "%%parallel -b dask --quiet\n"
                                                       f"r = [w.add_one(x) for x in range({per_item_count})]"),
        }
        for name, run in per_item.items():
            times[name] = [_timed(run) for _ in range(1 if "client.map" in name else rounds)]
        assert shell.user_ns["r"] == [x + 1 for x in items]
    finally:
        client.close()
        cluster.close()

    median = {name: statistics.median(values) for name, values in times.items()}
    cpu_ratio = median["cpu: %%parallel -b dask"] / median["cpu: client.map"]
    us = {name: median[name] / per_item_count * 1e6 for name in per_item}
    item_ratio = us["items: %%parallel -b dask"] / us["items: client.map"]
    figures = {
        "workers": args.workers, "rounds": rounds,
        "cpu_bound_32_fib25_s": {"client.map": median["cpu: client.map"],
                                 "xparallel_dask": median["cpu: %%parallel -b dask"]},
        "cpu_bound_ratio": cpu_ratio,
        "per_item_count": per_item_count,
        "per_item_us": {"client.map": us["items: client.map"],
                        "xparallel_dask": us["items: %%parallel -b dask"]},
        "per_item_ratio": item_ratio,
    }
    print(f"| dask benchmark ({args.workers} process workers, LocalCluster) | %%parallel -b dask "
          "| client.map(pure=False), same cluster | ratio | goal |")
    print("|---|---|---|---|---|")
    print(f"| CPU-bound, 32 × fib(25), median of {rounds} | "
          f"{median['cpu: %%parallel -b dask']:.3f} s | {median['cpu: client.map']:.3f} s | "
          f"{cpu_ratio:.3f}× | within 10 % |")
    print(f"| per item, {per_item_count:,} × x + 1 | {us['items: %%parallel -b dask']:.2f} µs/item | "
          f"{us['items: client.map']:.1f} µs/item | {item_ratio:.4f}× | ≤ 0.1× |")
    return figures


if __name__ == "__main__":
    sys.setrecursionlimit(10_000)
    main()
