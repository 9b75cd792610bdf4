#ifndef XPARALLEL_XLAUNCH_HPP
#define XPARALLEL_XLAUNCH_HPP

namespace xparallel
{
    // The kernel runs inside the `python3` process rather than on a Python embedded through
    // libpython3.X.so: a distribution's python3 links the interpreter statically, without
    // position-independent code, and runs Python code about 10 % faster (same instructions
    // counted with callgrind: README, "Speed of ordinary cells"). When the kernel's extension
    // module is installed beside its packages, this replaces the process (same pid, so Jupyter's
    // signals and process handling are unchanged) by that Python running the extension; otherwise,
    // or with XPARALLEL_KERNEL_EMBEDDED=1, or if the exec fails, it returns and the executable
    // embeds Python itself. Call before any thread exists and before signals are blocked (a
    // blocked mask survives exec).
    void run_in_python_when_installed(int argc, char* argv[]);
} // namespace xparallel

#endif
