"""Instructions the kernel's busiest thread executes for an ordinary cell, counted by callgrind:
repeatable on a shared or virtual machine where wall time is noisy and `perf stat` has no hardware
counters. ipykernel, the xparallel kernel and the xparallel kernel embedding libpython
(XPARALLEL_KERNEL_EMBEDDED=1), each without and with a warm idle pool.

    python -m benchmarks.kernel_instructions [--valgrind PATH] [--fib N] [--runs R]

Each kernel runs under `valgrind --tool=callgrind --instr-atstart=no`; instrumentation is switched
on around each run of the cell (callgrind_control) and the dump of the thread that executed most is
read. Needs valgrind (VALGRIND_LIB is passed on for an unpacked copy).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from benchmarks.kernel import FIB, _drain, _run, _stop

KERNELS = {  # label: (kernelspec, extra environment)
    "ipykernel": ("python3", {}),
    "xparallel": ("xparallel", {}),
    "xparallel, embedded libpython": ("xparallel", {"XPARALLEL_KERNEL_EMBEDDED": "1"}),
}


def _callgrind_spec(name: str, valgrind: str, out: Path, spec_dir: Path) -> str:
    spec = KernelSpecManager().get_kernel_spec(name)
    wrapped = f"callgrind-{name}"
    (spec_dir / wrapped).mkdir(parents=True, exist_ok=True)
    argv = [valgrind, "--tool=callgrind", "--trace-children=yes", "--instr-atstart=no",
            "--separate-threads=yes", f"--callgrind-out-file={out}/cg.%p", *spec.argv]
    (spec_dir / wrapped / "kernel.json").write_text(json.dumps(
        {"argv": argv, "display_name": wrapped, "language": "python",
         "interrupt_mode": spec.interrupt_mode, "env": spec.env}))
    return wrapped


def _busiest_thread(out: Path, pid: int) -> int:
    files = list(out.glob(f"cg.{pid}.*-*"))
    last = max(int(f.name.split(".")[2].split("-")[0]) for f in files)
    return max(int(re.search(r"^totals: (\d+)", f.read_text(), re.M).group(1))
               for f in out.glob(f"cg.{pid}.{last}-*"))


def _count(control: str, pid: int, out: Path, kc: Any, code: str) -> int:
    def ctl(*args: str) -> None:
        subprocess.run([control, *args, str(pid)], check=True, capture_output=True, timeout=120)

    ctl("-z")
    ctl("-i", "on")
    _run(kc, code, timeout=900)
    ctl("-i", "off")
    ctl("-d")
    time.sleep(0.5)
    return _busiest_thread(out, pid)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.kernel_instructions",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--valgrind", default=shutil.which("valgrind") or "valgrind")
    parser.add_argument("--fib", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    control = str(Path(args.valgrind).with_name("callgrind_control"))
    code = f"_ = [fib({args.fib}) for _ in range(8)]"
    results: dict[str, dict[str, list[int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out, specs = Path(tmp) / "out", Path(tmp) / "kernels"
        out.mkdir()
        os.environ["JUPYTER_PATH"] = f"{tmp}{os.pathsep}{os.environ.get('JUPYTER_PATH', '')}"
        for label, (name, env) in KERNELS.items():
            km = KernelManager(kernel_name=_callgrind_spec(name, args.valgrind, out, specs))
            km.start_kernel(env={**os.environ, **env})
            kc = km.client()
            kc.start_channels()
            try:
                kc.wait_for_ready(timeout=600)
                pid = km.provisioner.process.pid
                if name == "python3":
                    _run(kc, "%load_ext xparallel", timeout=600)
                _run(kc, FIB, timeout=600)
                _run(kc, code, timeout=900)  # warm-up
                cold = [_count(control, pid, out, kc, code) for _ in range(args.runs)]
                _run(kc, "%%parallel -b interpreters --quiet\nsq = [x * x for x in range(100)]",
                     timeout=600)
                time.sleep(2)
                _drain(kc)
                warm = [_count(control, pid, out, kc, code) for _ in range(args.runs)]
                results[label] = {"cold": cold, "warm_pool": warm}
            finally:
                _stop(km, kc)
    base = min(results["ipykernel"]["cold"])
    print(f"\n### Instructions of the kernel's busiest thread for `{code}` (callgrind, min of "
          f"{args.runs})\n")
    print("| kernel | no pool | warm idle pool | against ipykernel |")
    print("|---|---|---|---|")
    for label, counts in results.items():
        print(f"| {label} | {min(counts['cold']) / 1e6:.1f} M | {min(counts['warm_pool']) / 1e6:.1f} M"
              f" | {min(counts['cold']) / base:.3f} |")
    return {"cell": code, "instructions": results}


if __name__ == "__main__":
    json.dump(main(sys.argv[1:]), sys.stdout, indent=1)
    print()
