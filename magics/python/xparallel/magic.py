"""The %%parallel and %parallel_pool magics."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from . import run
from .backends import AUTO, NAMES, help_text, on_register, scheduler_backend, started_backends
from .frontend import listen_for_widget_front_end

# Options that take a value, for splitting the line form's options from its statement.
_VALUED = {"-w", "--workers", "-b", "--backend", "--chunksize", "--errors", "--scheduler",
           "--retries", "--timeout"}


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise UsageError(f"expected at least 1, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise UsageError(f"expected more than 0 seconds, got {text}")
    return value


def _split_line(line: str) -> tuple[str, str]:
    """'-w 2 x = [...]' -> ('-w 2', 'x = [...]'): leading options, then the statement."""
    tokens = line.split()
    taken = 0
    while taken < len(tokens) and tokens[taken].startswith("-"):
        option = tokens[taken]
        taken += 2 if option in _VALUED else 1
    options = " ".join(tokens[:taken])
    rest = line.split(None, taken)[taken] if taken < len(tokens) else ""
    return options, rest


@magics_class
class ParallelMagics(Magics):
    @magic_arguments()
    @argument("-w", "--workers", type=_positive, default=None,
              help="worker count; default: the CPUs this process may use")
    @argument("-b", "--backend", choices=NAMES, default=AUTO, help=help_text())
    @argument("--scheduler", default=None, metavar="ADDRESS",
              help="with -b dask: the dask scheduler to connect to (tcp://HOST:PORT)")
    @argument("--chunksize", type=_positive, default=None,
              help="items per dispatch; default: automatic (a few chunks per worker, bounded "
                   "chunk time)")
    @argument("--errors", choices=("raise", "skip", "collect"), default="raise",
              help="raise: the first failure cancels the rest and is raised (default); skip: "
                   "failed items are left out and counted; collect: the exception stands in the "
                   "item's place (in a set it is a member, in a dict the value of the item's "
                   "own key)")
    @argument("--timeline", action="store_true",
              help="after the run, a per-worker timeline of when each chunk ran")
    @argument("--compare", action="store_true",
              help="run the cell on serial, threads, processes and interpreters in turn (and "
                   "dask when the notebook has a dask client) and show wall time, speedup and "
                   "cores used: warmed up, fastest of up to 5 rounds (see below)")
    @argument("--quiet", action="store_true", help="no widgets, only the summary line")
    @argument("--resume", action="store_true",
              help="reuse the finished results of the last run of the same target for the same "
                   "inputs: only unfinished and failed items run, with the cell's current code")
    @argument("--retries", type=_positive, default=0, metavar="N",
              help="run an item that raised again, up to N times, before its error counts")
    @argument("--timeout", type=_seconds, default=None, metavar="S",
              help="an item running longer than S seconds gets a TimeoutError in its place "
                   "(then --errors decides) and its worker is replaced; the run goes on")
    @line_cell_magic
    @no_var_expand  # the line form is Python: `{x}` in an f-string is not IPython's $x
    def parallel(self, line: str, cell: str | None = None) -> Any:
        """Run the cell's last comprehension or map() across workers.

        The outermost `for` of the cell's last statement is split across workers; everything
        inside it runs in the workers; the results are joined back in the input's order::

            %%parallel -w 2
            import math
            def is_prime(n):
                return n > 1 and all(n % d for d in range(2, math.isqrt(n) + 1))
            primes = [n for n in candidates if is_prime(n)]

        Accepted last statements: list / set / dict comprehensions and generator expressions
        (any inner for/if clauses), map(f, a, ...) and itertools.starmap(f, pairs), either
        assigned (`TARGET = ...`) or bare (the cell's value). Statements before it are setup:
        they run here and once in every worker. Names the cell uses but does not define are
        shipped automatically: modules by name, notebook functions, classes and lambdas by value.

        Line form: `%parallel squares = [x * x for x in range(10)]` (taken as written: no
        IPython `{var}`/`$var` expansion, so f-strings mean what they say).

        --errors: `raise` raises the first failure (by item index) after cancelling the rest;
        `skip` leaves failed items out of every form (a set or dict simply lacks their members
        or entries); `collect` puts the exception object in the item's place: at the item's
        position in a list, tuple or map; as a member of a set (exceptions compare by identity, so
        two failures are two members); in a dict as the value of the item's own key, so that
        `d[key]` is the exception. When the key expression itself failed there is no key: the
        item is left out and counted as under `skip`, its error in `_parallel.errors`. With
        inner for/if clauses a failed outer item contributes that one stand-in.

        `-b dask` runs the same cell as tasks on a dask.distributed cluster: the notebook's
        current client, `--scheduler ADDRESS`, or else a LocalCluster of `-w` process workers
        started once and kept warm (`%parallel_pool --close-dask` closes it). The cell's spec goes
        once to every worker, items in chunks; a worker's print arrives when its chunk ends,
        prefixed with the dask worker's name. An interrupt cancels the queued tasks and raises
        KeyboardInterrupt in the worker threads running this cell's chunks (a blocking C call
        finishes first); a worker lost mid-run costs nothing but time (dask reruns its tasks).
        `auto` never picks dask; `--compare` adds a dask row when the notebook has a client.

        After the run, `_parallel` holds the report: per-item worker, times and CPU time,
        the errors, partial results after a failure or an interrupt. `_parallel.partial()` is
        the list of results in input order with `xparallel.MISSING` where an item has none
        (failed, interrupted, never ran). Workers run your code with your rights in this
        process; a crash in native code takes the kernel down: use `--backend processes` for
        untrusted native code.

        The exploration loop:
        --resume: after a run that was interrupted or had failed items, rerun the cell with
        --resume: items the last run of the same target (`r = ...`) finished are not computed
        again, provided their input is equal (`==`) to what it was; the others run with the
        cell's current code, and the results come out as a full run's, in order. Right when
        your fix does not change the finished items' answers (a crash on some inputs, a
        missing case); wrong when it does (then run without --resume). The summary says
        `resumed: N reused, M run`.
        --retries N: an item that raised runs again (up to N times) before its error counts;
        `_parallel.retried` maps each retried item to its extra attempts.
        --timeout S: an item still running after S seconds gets a TimeoutError in its place
        (then --errors decides), its worker is set aside and replaced as after an interrupt
        (also when it is stuck in a call nothing can wake), and the run goes on: the items
        interrupted beside it run again. Items are handed out one at a time to free workers,
        and the input is taken up front. `_parallel.timed_out` lists the items that timed out.
        --compare: the input is taken once, up front. Every backend first runs one item per
        worker, untimed (pools started, the function shipped); then timed rounds of every backend,
        each round in a rotated order, up to 5 rounds and no further round once the rounds took
        5 s (a long cell gets one round); each backend shows its fastest round. A speedup is
        shown only where it is one: it is marked "not measurable" (and the note says why) when
        the serial run took under 50 ms (fixed costs, not the work, make such a ratio), or when
        it exceeds the run's cores used (plus the idle waits of the serial run, such as sleeps,
        that running items side by side overlaps): no run does the same work in less than its CPU
        time, so the serial run was slower than the work is. With --timeline, every backend's
        fastest run is drawn on one time axis.
        `%parallel_debug [N]`: the N-th failed item of the last run (1 by default) runs again
        here with the cell's setup, under IPython's debugger at the frame that raised.
        """
        __tracebackhide__ = True  # noqa: F841
        if cell is None:
            option_text, cell = _split_line(line)
        else:
            option_text = line
        # Options expand like any line magic's (`-w $w` in a loop); the statement does not.
        option_text = self.shell.var_expand(option_text, depth=1)
        args = parse_argstring(self.parallel, option_text)
        if not cell or not cell.strip():
            raise UsageError("%%parallel: the cell is empty; write a mapped form such as "
                             "`squares = [x * x for x in range(10)]` (see %%parallel?)")
        backend = args.backend
        if args.scheduler and backend == AUTO:
            backend = scheduler_backend()  # a scheduler address says where
        elif args.scheduler and backend != scheduler_backend():
            raise UsageError(f"%%parallel: --scheduler is for -b {scheduler_backend()}, not "
                             f"-b {backend}")
        # No -w: None, so the warm pool keeps its size (`%parallel_pool --resize N` sticks).
        options = run.Options(workers=args.workers, scheduler=args.scheduler,
                              backend=backend, chunksize=args.chunksize or 0,
                              errors=args.errors, timeline=args.timeline, compare=args.compare,
                              quiet=args.quiet, resume=args.resume, retries=args.retries,
                              timeout=args.timeout)
        return run.CellRun(self.shell, cell, options).execute()

    @magic_arguments()
    @argument("--resize", type=_positive, default=None, metavar="N",
              help="resize the warm interpreter pool to N workers")
    @argument("--restart", action="store_true", help="end every interpreter and start fresh ones")
    @argument("--shutdown", action="store_true", help="end the pool (it restarts on next use)")
    @argument("--last", action="store_true", help="return the last run's report (_parallel)")
    @argument("--close-dask", action="store_true",
              help="close the LocalCluster that -b dask started (a cluster you made is yours)")
    @line_magic
    def parallel_pool(self, line: str) -> Any:
        """Show the warm sub-interpreter pool (backend, workers, state, memory) and any dask
        cluster in use (scheduler, workers, threads, memory), or resize, restart or shut the
        pool down, or close the LocalCluster -b dask started; --last returns the last
        %%parallel report."""
        args = parse_argstring(self.parallel_pool, line)
        if args.last:
            if run.LAST_REPORT is None:
                raise UsageError("%parallel_pool --last: no %%parallel cell has run yet")
            return run.LAST_REPORT
        from . import engine  # the interpreters' pool: the C++ engine
        from .pool_status import PoolStatus

        if args.close_dask:
            started = started_backends().get(scheduler_backend())
            if started is None or not started.close_local():
                raise UsageError("%parallel_pool --close-dask: no LocalCluster was started by "
                                 "-b dask in this kernel")
        elif args.shutdown:
            engine.shutdown_pool()
        elif args.restart:
            engine.restart_pool(args.resize)
        elif args.resize:
            engine.get_pool(args.resize)
        return PoolStatus()


    @line_magic
    def parallel_debug(self, line: str) -> None:
        """%parallel_debug [N]: run the N-th failed item of the last %%parallel run (the first
        by default) again in this kernel, with the cell's setup, and open IPython's debugger at
        the frame that raised (post-mortem, as %debug). Breakpoints and stepping in the
        workers themselves are not possible (they run in other interpreters or processes):
        this brings the failure here, where the debugger is."""
        from .debug import debug_failed_item

        text = line.strip()
        if text and not text.isdigit():
            raise UsageError(f"%parallel_debug: expected a failed item's number (1, 2, ...), got "
                             f"{text!r}")
        debug_failed_item(self.shell, run.LAST_REPORT, int(text) if text else None)


def _describe_backends() -> None:
    """`%%parallel?` and `-b`'s help again, with a backend registered since the magic was made."""
    magic = ParallelMagics.parallel
    for action in magic.parser._actions:
        if "--backend" in action.option_strings:
            action.help = help_text()
    magic.__doc__ = magic.parser.format_help()


on_register(_describe_backends)


def register(ipython: Any) -> None:
    ipython.register_magics(ParallelMagics)
    listen_for_widget_front_end()
