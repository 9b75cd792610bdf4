"""History requests as ipykernel answers them (IPython's history): tail, range and search, with
n, unique and relative sessions."""

from __future__ import annotations

import uuid

import pytest

from kernel_client import execute


def history(kc, **content) -> list:
    msg = kc.session.msg("history_request", content)
    kc.shell_channel.send(msg)
    while True:
        reply = kc.get_shell_msg(timeout=10)
        if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
            break
    assert reply["content"]["status"] == "ok", reply["content"]
    return reply["content"]["history"]


@pytest.fixture()
def cells(kc):
    tag = "h" + uuid.uuid4().hex[:8]
    sources = [f"{tag}_a = 1", f"{tag}_b = 2", f"{tag}_a = 1", f"{tag}_c = 3"]
    numbers = [execute(kc, source).reply["content"]["execution_count"] for source in sources]
    return tag, sources, numbers


@pytest.mark.timeout(60)
def test_tail_gives_the_last_n_cells_in_order(kc, cells):
    tag, sources, numbers = cells
    entries = history(kc, hist_access_type="tail", n=3, raw=True, output=False)
    assert [e[2] for e in entries] == sources[1:]
    assert [e[1] for e in entries] == numbers[1:]
    session = entries[0][0]
    assert all(e[0] == session for e in entries)


@pytest.mark.timeout(60)
def test_range_of_the_current_session(kc, cells):
    tag, sources, numbers = cells
    entries = history(kc, hist_access_type="range", session=0, start=numbers[1],
                      stop=numbers[3], raw=True, output=False)
    assert [(e[1], e[2]) for e in entries] == list(zip(numbers[1:3], sources[1:3]))
    # stop omitted (or null): to the end of the session, as in ipykernel
    to_end = history(kc, hist_access_type="range", session=0, start=numbers[2], raw=True,
                     output=False)
    assert [e[2] for e in to_end][:2] == sources[2:]
    with_null = history(kc, hist_access_type="range", session=0, start=numbers[2], stop=None,
                        raw=True, output=False)
    assert with_null == to_end


@pytest.mark.timeout(60)
def test_search_with_unique_and_n(kc, cells):
    tag, sources, numbers = cells
    everything = history(kc, hist_access_type="search", pattern=f"{tag}_*", raw=True,
                         output=False)
    assert [e[2] for e in everything] == sources
    unique = history(kc, hist_access_type="search", pattern=f"{tag}_*", unique=True, raw=True,
                     output=False)
    assert sorted(e[2] for e in unique) == sorted(set(sources))
    assert len(unique) == 3
    last_two = history(kc, hist_access_type="search", pattern=f"{tag}_*", n=2, raw=True,
                       output=False)
    assert [e[2] for e in last_two] == sources[2:]
    none = history(kc, hist_access_type="search", pattern=f"{tag}_zzz*", raw=True, output=False)
    assert none == []


@pytest.mark.timeout(60)
def test_unknown_access_type_gives_an_empty_history(kc):
    assert history(kc, hist_access_type="nonsense", raw=True, output=False) == []
    assert execute(kc, "'alive'").status == "ok"
