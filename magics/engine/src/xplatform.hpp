#ifndef XPARALLEL_XPLATFORM_HPP
#define XPARALLEL_XPLATFORM_HPP

// The engine's platform-specific parts, in one place (not installed): the calling thread's CPU
// time, the time it spent runnable but waiting for a core, and keeping SIGINT off the threads it
// starts. xplatform.cpp has a Linux, a macOS and a Windows branch; only Linux is built and tested
// here (README: Platforms).

#include <cstdint>
#include <optional>

#if !defined(_WIN32)
#include <signal.h>
#endif

namespace xparallel::detail
{
    // CPU time (user + system) of the calling thread, in nanoseconds.
    std::int64_t thread_cpu_ns();

    // The calling thread's run-queue wait, for a worker thread that reads it around every chunk.
    // Made and read on that thread. Linux: /proc/thread-self/schedstat, opened once (a pread per
    // read); macOS and Windows keep no such count: read() is empty ("not measured").
    class core_wait_clock
    {
    public:
        core_wait_clock();
        ~core_wait_clock();
        core_wait_clock(const core_wait_clock&) = delete;
        core_wait_clock& operator=(const core_wait_clock&) = delete;

        // Nanoseconds spent waiting for a core so far, or nothing where it is not measured.
        std::optional<std::int64_t> read() const;

    private:
        int m_fd = -1;
    };

    // Blocks SIGINT in the calling thread while it lives, so that threads started meanwhile
    // inherit the mask and never take the notebook's interrupt. Windows has no signal masks (a
    // console's Ctrl+C goes to a handler thread, and CPython turns it into SIGINT for the main
    // thread only): nothing to do there.
    class sigint_blocked
    {
    public:
        sigint_blocked();
        ~sigint_blocked();
        sigint_blocked(const sigint_blocked&) = delete;
        sigint_blocked& operator=(const sigint_blocked&) = delete;

#if !defined(_WIN32)
    private:
        sigset_t m_previous;
#endif
    };
} // namespace xparallel::detail

#endif
