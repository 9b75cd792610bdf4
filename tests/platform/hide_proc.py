"""`unshare --mount --propagation unchanged --fork python3 hide_proc.py CMD ...`: runs CMD with an
empty /proc, as on a system that has none (macOS). unshare(1) gives the mount namespace (in the
toolchain's chroot / is no mount point, so unshare cannot make it private: /proc is made private
here, so that the tmpfs over it stays in this namespace); the root has no mount(8), so both go
through mount(2)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

MS_REC, MS_PRIVATE = 0x4000, 1 << 18  # <sys/mount.h>


def main(argv: list[str]) -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    for source, kind, flags in ((None, None, MS_REC | MS_PRIVATE), (b"none", b"tmpfs", 0)):
        if libc.mount(source, b"/proc", kind, flags, None) != 0:
            error = ctypes.get_errno()
            sys.exit(f"hide_proc: mount(2) on /proc failed: {os.strerror(error)}")
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
