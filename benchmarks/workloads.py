"""Item functions for the benchmarks, importable by every executor (InterpreterPoolExecutor cannot
run functions defined in __main__)."""


def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def add_one(x: int) -> int:
    return x + 1


def fib_factory():
    return fib


def add_one_factory():
    return add_one
