"""Item functions for the engine tests. Imported by reference inside the sub-interpreters, so this
module must stay importable there: standard library only."""

from __future__ import annotations

import time


def add_one_factory():
    return add_one


def add_one(x):
    return x + 1


def square_factory():
    return lambda x: x * x


def busy_factory():
    return busy_forever


def busy_forever(x):
    if x == 0:
        return 0
    while True:
        pass


def sleepy_factory():
    return lambda x: time.sleep(x) or x


def failing_at_seven_factory():
    return fail_at_seven


def fail_at_seven(x):
    if x == 7:
        raise ValueError(f"seven is not allowed (got {x})")
    return x


def printing_factory():
    def shout(x):
        print(f"item {x}")
        return x
    return shout


def unpicklable_result_factory():
    import threading

    return lambda x: threading.Lock() if x == 3 else x


class StubbornError(Exception):
    def __reduce__(self):
        raise TypeError("StubbornError refuses to pickle")


def unpicklable_exception_factory():
    def fail(x):
        if x == 2:
            raise StubbornError("item two")
        return x
    return fail


def numpy_factory():
    import numpy  # noqa: F401 - NumPy refuses own-GIL sub-interpreters

    return add_one


def import_factory(module_name):
    def make():
        module = __import__(module_name)
        return module.value
    return make


def thread_id_factory():
    import threading

    return lambda x: threading.get_ident()


def stubborn_factory():
    return stubborn


def stubborn(seconds):
    """Ignores interrupts: a loop that catches BaseException, in and out of time.sleep, until
    `seconds` have passed (bounded, so that a set-aside worker does not spin for ever)."""
    deadline = time.monotonic() + seconds
    interrupts = 0
    while time.monotonic() < deadline:
        try:
            time.sleep(0.01)
            for _ in range(10_000):
                pass
        except BaseException:  # noqa: BLE001 - the point of this helper
            interrupts += 1
    return interrupts


def skewed_factory():
    return skewed


def skewed(i):
    """Item 0 is slow (busy for 1.5 s of wall time), the others take 5 ms."""
    end = time.perf_counter() + (1.5 if i == 0 else 0.005)
    while time.perf_counter() < end:
        pass
    return i


def sleep_error_factory():
    def check(x):
        try:
            time.sleep(x)
        except Exception as error:  # noqa: BLE001 - the type and message are the point
            return (type(error).__name__, str(error))
        return "slept"
    return check


def slow_thread_id_factory():
    """The worker's thread id, after 10 ms: every worker of a pool gets some of the items."""
    import threading

    def which(x):
        time.sleep(0.01)
        return threading.get_ident()
    return which


def late_printer_factory():
    return late_printer


def late_printer(seconds):
    """Ignores interrupts for `seconds`, then prints: output of an item whose job is long gone."""
    stubborn(seconds)
    print("late output from a cancelled item")
    return seconds


def megabytes_after_a_slow_first_factory():
    return megabyte_after_a_slow_first


def megabyte_after_a_slow_first(i):
    if i == 0:
        time.sleep(2.0)
    return bytes(1 << 20)


def megabytes_factory():
    return megabyte_of


def megabyte_of(i):
    return (bytes if i % 2 else bytearray)([i % 251]) * (1 << 20)
