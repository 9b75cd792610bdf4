#ifndef XPARALLEL_XWORKER_HPP
#define XPARALLEL_XWORKER_HPP

// The engine's insides, shared by its source files (not installed): a worker's state, and the
// functions each file provides. xpool.cpp is the pool; xworker.cpp a worker's loop;
// xlifecycle.cpp the ready/done bookkeeping across pools; xinterrupter.cpp raising
// KeyboardInterrupt in a busy worker; xinterruptible_sleep.cpp the time.sleep a cancel wakes;
// xcapi.cpp the C-API glue (errors, the worker's emit and bootstrap); xplatform.cpp the
// platform-specific reads (thread CPU time, waits for a core).

#include <Python.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "xparallel/xpool.hpp"
#include "xplatform.hpp"

namespace xparallel
{
    using clock = std::chrono::steady_clock;

    struct pool::shared
    {
        std::vector<std::string> sys_path;
        work_queue<chunk_task> queue;
        std::mutex events_mutex;
        std::vector<worker_event> events;
    };

    struct pool::worker
    {
        std::size_t index = 0;
        std::thread thread;
        std::atomic<worker_state> state{worker_state::starting};
        std::atomic<PyInterpreterState*> interp{nullptr};
        std::atomic<unsigned long> thread_id{0};
        std::atomic<std::uint64_t> current_job{0};
        std::atomic<bool> in_chunk{false};
        // Set aside, retired by a shrink, or the pool shuts down: leave after the current chunk.
        std::atomic<bool> retiring{false};
        // The last job cancelled while this worker ran one of its chunks, and when (steady ns).
        std::atomic<std::uint64_t> cancelled_job{0};
        std::atomic<std::int64_t> cancelled_at{0};

        // Guarded by lifecycle_mutex().
        bool ready = false;
        bool done = false; // the interpreter is ended; joining the thread returns at once
        bool abandoned = false;
        std::string start_error;

        // Interrupts: a thread of this worker's own, made on the first interrupt and joined when
        // the worker ends, so that cancels start no threads and one stuck worker delays no other.
        std::mutex interrupt_mutex;
        std::condition_variable interrupt_requested;
        std::condition_variable sleep_wake;
        std::deque<std::uint64_t> interrupt_queue;
        bool interrupts_closed = false;
        std::thread interrupter;
        std::uint64_t wake_job = 0; // an interruptible time.sleep in this job's item returns now
        bool sleeping = false;
        std::atomic<std::uint64_t> woken_job{0}; // the job whose sleep took the wake-up
    };

    namespace detail
    {
        // xlifecycle.cpp
        extern std::atomic<std::size_t> abandoned_count;
        std::mutex& lifecycle_mutex();
        std::condition_variable& lifecycle();
        void mark_ready(pool::worker& w, const std::string& error);
        void mark_done(pool::worker& w);
        bool is_done(const pool::worker& w);

        // Only the main interpreter's main thread handles signals: workers and helpers never see
        // SIGINT. Threads are started with it blocked, so there is no window where they could.
        template <class F> std::thread thread_without_sigint(F&& body)
        {
            const sigint_blocked blocked;
            return std::thread(std::forward<F>(body));
        }

        // xcapi.cpp (the thread clocks are xplatform.hpp's)
        std::int64_t now_ns();
        std::string take_python_error();
        PyObject* bootstrap(pool::shared& s, pool::worker& w, std::string& error);

        // xinterrupter.cpp
        void run_interrupter(pool::worker& w);
        void request_interrupt(pool::worker& w, std::uint64_t job);

        // xinterruptible_sleep.cpp
        PyObject* interruptible_sleep(PyObject* self, PyObject* argument);

        // xworker.cpp
        void run_worker(const std::shared_ptr<pool::shared>& s,
                        const std::shared_ptr<pool::worker>& w);
    } // namespace detail
} // namespace xparallel

#endif
