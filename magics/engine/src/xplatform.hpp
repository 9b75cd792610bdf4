#ifndef XPARALLEL_XPLATFORM_HPP
#define XPARALLEL_XPLATFORM_HPP

// The engine's platform-specific reads, in one place (not installed): the calling thread's CPU
// time and the time it spent runnable but waiting for a core. xplatform.cpp has a Linux, a macOS
// and a Windows branch; only Linux is built and tested here (README: Platforms).

#include <cstdint>
#include <optional>

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
} // namespace xparallel::detail

#endif
