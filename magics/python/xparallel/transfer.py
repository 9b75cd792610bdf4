"""How items and results travel to and from workers, and the one error for what cannot.

Pure Python (pickle and cloudpickle, protocol 5), so every backend but `interpreters` works
without the C++ module; the engine (`_engine`) raises this same `TransferError` class."""

from __future__ import annotations

import pickle


class TransferError(TypeError):
    """An item or a result cannot be sent between the notebook and a worker."""


def _dumps_items(value: object) -> bytes:
    """Items may be (or hold) the notebook's own classes and functions, which pickle would send
    by a name the workers cannot find (`__main__.Doc`): cloudpickle sends those by value, and
    everything else as pickle does (plain data never leaves pickle's C fast path)."""
    import cloudpickle

    return cloudpickle.dumps(value, protocol=5)


def pickle_items(chunk: list, first_index: int) -> bytes:
    """The chunk pickled for a worker; an item that does not pickle is named (the engine's
    rule, same words)."""
    try:
        return _dumps_items(chunk)
    except Exception:  # noqa: BLE001 - find the item, below
        pass
    for offset, item in enumerate(chunk):
        try:
            _dumps_items(item)
        except Exception as error:  # noqa: BLE001
            shown = repr(item)[:80]
            raise TransferError(
                f"item {first_index + offset} ({shown}) cannot be sent to a worker: {error}. "
                "Workers receive items by pickling; pass plain data (numbers, strings, tuples, "
                "lists, dicts) or picklable objects.") from None
    return _dumps_items(chunk)  # each item pickles alone: let the chunk's own error show


def unpickle_results(payload: bytes, first_index: int) -> tuple[list, list]:
    """(results, errors) of a chunk, in the notebook. What cannot be rebuilt here is a
    TransferError; the notebook's own trouble (MemoryError, an interrupt) is raised as is."""
    try:
        return pickle.loads(payload)
    except MemoryError:
        raise
    except Exception as problem:  # noqa: BLE001 - anything else means they cannot travel
        raise TransferError(f"the results of items from {first_index} cannot be unpickled in "
                            f"the notebook: {problem}") from None
