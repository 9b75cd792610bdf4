#ifndef XPARALLEL_XLIFETIME_HPP
#define XPARALLEL_XLIFETIME_HPP

#include <chrono>

namespace xparallel
{
    // How the kernel ends: within a bounded time, with exit code 0, whatever the user's code or
    // the engine's workers do (a cell that swallows KeyboardInterrupt, a worker stuck in a
    // blocking call, a non-daemon thread that never returns).

    // Time from a shutdown request (or the parent's death) to the process's exit at the latest:
    // jupyter_client sends SIGTERM 2.5 s after its shutdown request and SIGKILL 2.5 s later.
    inline constexpr std::chrono::milliseconds exit_deadline{2000};

    // From then on the process exits at the latest after `exit_deadline`: a watchdog thread
    // flushes stdio and calls _exit(0). Any thread; only the first call counts.
    void arm_exit_watchdog();

    // Watches the parent process like ipykernel does: when Jupyter set JPY_PARENT_PID and the
    // kernel's parent changes (it died and the kernel was re-parented), the kernel shuts down as
    // if asked to. Call once the kernel is built, before it starts.
    void watch_parent_process();

    // SIGTERM (`kill`, or Jupyter's next step when a kernel is late) shuts the kernel down as a
    // shutdown request does; once a shutdown has begun, the watchdog bounds it, so a SIGTERM then
    // lets finalisation go on.
    // Call in main() after the signal mask is set, before other threads start.
    void handle_termination_requests();

    // After the kernel's loops ended, with Python still running: ends the engine's warm pool
    // within the deadline; when workers had to be abandoned (stuck in a blocking call), normal
    // finalisation would wait for them, so the process flushes and exits at once with 0.
    void end_python_work();

    // Flushes C and C++ stdio, then _exit(code): no finalisation, no destructors.
    [[noreturn]] void exit_now(int code);
} // namespace xparallel

#endif
