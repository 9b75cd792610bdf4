"""The `comm` package's hooks, backed by xeus comms, so that ipywidgets 8 work in the kernel."""

from __future__ import annotations

from typing import Any

import comm
from comm.base_comm import BaseComm, CommManager

import _xparallel_kernel as bridge

_MESSAGE_KINDS = ("comm_open", "comm_msg", "comm_close")


class Comm(BaseComm):
    """A comm whose messages go through xeus (which also answers comm_info and routes replies)."""

    def __init__(self, *args: Any, xcomm: Any = None, **kwargs: Any) -> None:
        self._xcomm = xcomm
        if xcomm is not None:
            kwargs.setdefault("comm_id", xcomm.comm_id)
            self._bind(xcomm)
        super().__init__(*args, **kwargs)

    def _bind(self, xcomm: Any) -> None:
        xcomm.set_handlers(self.handle_msg, self.handle_close)

    def close(self, *args: Any, **kwargs: Any) -> None:
        super().close(*args, **kwargs)
        if self._xcomm is not None:
            # The C++ comm holds our bound handlers, a cycle Python's collector cannot see
            # through: without this, every closed comm (and what its handlers reach) stays.
            self._xcomm.set_handlers(None, None)
            self._xcomm = None

    def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None,
                    buffers: Any = None, **keys: Any) -> None:
        if msg_type not in _MESSAGE_KINDS:
            raise ValueError(f"unknown comm message type {msg_type!r}")
        if self._xcomm is None:
            self._xcomm = bridge.XComm(self.target_name, self.comm_id)
            self._bind(self._xcomm)
        send = {"comm_open": self._xcomm.open, "comm_msg": self._xcomm.send,
                "comm_close": self._xcomm.close}[msg_type]
        send(data or {}, metadata or {}, list(buffers or []))


class XCommManager(CommManager):
    """Registers targets with xeus so that comms the front end opens reach Python handlers."""

    def register_target(self, target_name: str, f: Any) -> None:
        super().register_target(target_name, f)
        bridge.register_target(target_name, lambda xcomm, msg: self._open_from_front_end(target_name, xcomm, msg))

    def unregister_target(self, target_name: str, f: Any) -> Any:
        bridge.unregister_target(target_name)
        return super().unregister_target(target_name, f)

    def _open_from_front_end(self, target_name: str, xcomm: Any, msg: dict) -> None:
        handler = self.targets.get(target_name)
        if handler is None:
            xcomm.close({}, {}, [])
            return
        content = msg["content"]
        c = Comm(xcomm=xcomm, primary=False, target_name=target_name, comm_id=content["comm_id"])
        self.register_comm(c)
        handler(c, msg)


_manager: XCommManager | None = None


def install() -> XCommManager:
    """Points the `comm` package at this kernel's comms."""
    global _manager
    _manager = XCommManager()
    comm.create_comm = lambda *args, **kwargs: Comm(*args, **kwargs)
    comm.get_comm_manager = lambda: _manager
    return _manager
