"""Run by a Python 3.13 (tests/setup/test_python313.py), where multiprocessing's default start
method on Linux is fork: the default Pool, after a warm pool of sub-interpreters, maps (gh-139759
would crash its forked workers, and the Pool would wait for ever). Prints the Pool's results."""

from __future__ import annotations

import multiprocessing
import signal

from xparallel import engine


def abs_factory():
    return abs


def give_up(signum, frame):
    raise TimeoutError("the Pool's forked workers never answered")


def main() -> None:
    assert multiprocessing.get_start_method() == "fork", multiprocessing.get_start_method()
    job = engine.submit(abs_factory, range(-3, 3), workers=2)
    assert job.wait(30) and job.results == [3, 2, 1, 0, 1, 2], job.results
    assert engine.current_pool().running
    signal.signal(signal.SIGALRM, give_up)
    signal.alarm(30)
    with multiprocessing.Pool(2) as pool:
        print(pool.map(abs, range(-4, 4)))
    signal.alarm(0)


if __name__ == "__main__":
    main()
