#include "xplatform.hpp"

#if defined(__linux__)
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#elif defined(__APPLE__)
#include <mach/mach.h>
#elif defined(_WIN32)
#include <windows.h>
#else
#include <ctime>
#endif

#if !defined(_WIN32)
#include <pthread.h>
#endif

namespace xparallel::detail
{
#if defined(__linux__)
    std::int64_t thread_cpu_ns()
    {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
    }

    core_wait_clock::core_wait_clock()
        : m_fd(open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC))
    {
    }

    core_wait_clock::~core_wait_clock()
    {
        if (m_fd >= 0)
        {
            close(m_fd);
        }
    }

    std::optional<std::int64_t> core_wait_clock::read() const
    {
        if (m_fd < 0)
        {
            return std::nullopt; // no /proc, or a kernel without schedstats
        }
        // "<ns on a core> <ns runnable, waiting for one> <timeslices>"
        char text[128];
        const ssize_t size = pread(m_fd, text, sizeof(text) - 1, 0);
        if (size <= 0)
        {
            return std::nullopt;
        }
        text[size] = '\0';
        char* rest = nullptr;
        std::strtoull(text, &rest, 10);
        return static_cast<std::int64_t>(std::strtoull(rest, nullptr, 10));
    }
#else
    // Untested: no macOS or Windows build runs here.
    std::int64_t thread_cpu_ns()
    {
#if defined(__APPLE__)
        // The mach thread's user and system time (microsecond resolution).
        const mach_port_t thread = mach_thread_self();
        thread_basic_info_data_t info{};
        mach_msg_type_number_t count = THREAD_BASIC_INFO_COUNT;
        const kern_return_t status =
            thread_info(thread, THREAD_BASIC_INFO, reinterpret_cast<thread_info_t>(&info), &count);
        mach_port_deallocate(mach_task_self(), thread);
        if (status != KERN_SUCCESS)
        {
            return 0;
        }
        const auto micros = [](const time_value_t& t)
        { return static_cast<std::int64_t>(t.seconds) * 1'000'000 + t.microseconds; };
        return (micros(info.user_time) + micros(info.system_time)) * 1'000;
#elif defined(_WIN32)
        // FILETIMEs count 100 ns.
        FILETIME created, exited, kernel, user;
        if (!GetThreadTimes(GetCurrentThread(), &created, &exited, &kernel, &user))
        {
            return 0;
        }
        const auto ticks = [](const FILETIME& t)
        { return (static_cast<std::int64_t>(t.dwHighDateTime) << 32) | t.dwLowDateTime; };
        return (ticks(kernel) + ticks(user)) * 100;
#else
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
#endif
    }

    core_wait_clock::core_wait_clock() = default;
    core_wait_clock::~core_wait_clock() = default;

    std::optional<std::int64_t> core_wait_clock::read() const
    {
        return std::nullopt;
    }
#endif

#if !defined(_WIN32)
    sigint_blocked::sigint_blocked()
    {
        sigset_t block;
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        pthread_sigmask(SIG_BLOCK, &block, &m_previous);
    }

    sigint_blocked::~sigint_blocked()
    {
        pthread_sigmask(SIG_SETMASK, &m_previous, nullptr);
    }
#else
    sigint_blocked::sigint_blocked() = default;
    sigint_blocked::~sigint_blocked() = default;
#endif
} // namespace xparallel::detail
