#ifndef XPARALLEL_XPOOL_HPP
#define XPARALLEL_XPOOL_HPP

#include <Python.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "xparallel/xjob_state.hpp"
#include "xparallel/xwork_queue.hpp"

namespace xparallel
{
    enum class worker_state : int
    {
        starting = 0,
        idle = 1,
        busy = 2,
        stopped = 3,
    };

    // A line of output a worker printed: stream 1 is stdout, 2 is stderr.
    struct worker_event
    {
        int worker = 0;
        int stream = 1;
        std::string text;
    };

    // A warm pool of worker threads, each running its own own-GIL sub-interpreter, fed from one
    // queue (a worker that finishes early takes the next chunk). The public calls are made from
    // the main interpreter's thread *without* holding the main GIL: workers need it briefly to
    // create their interpreters.
    class pool
    {
    public:
        // `sys_path`: the search path the workers start with (they need xparallel._worker).
        pool(std::size_t workers, std::vector<std::string> sys_path);
        ~pool();
        pool(const pool&) = delete;
        pool& operator=(const pool&) = delete;

        // Starts the workers and waits until each has its interpreter. Throws when one cannot.
        void start();
        // Cancels queued work, interrupts running items, ends every interpreter, joins the threads.
        void shutdown();
        bool running() const noexcept { return m_running; }

        std::size_t size() const noexcept { return m_size; }
        worker_state state(std::size_t worker) const;
        // Resident memory is per process; this is the count of live interpreters.
        std::size_t live_interpreters() const;

        void submit(chunk_task task);
        std::size_t queued() const;
        // Drops the job's queued chunks and raises KeyboardInterrupt in the items it runs.
        void cancel(const std::shared_ptr<job_state>& job);

        std::vector<worker_event> drain_events();

    private:
        struct worker;

        void run_worker(worker& w);
        void run_chunk(worker& w, PyObject* run_chunk_function, chunk_task& task);
        void interrupt(worker& w, std::uint64_t job_id);
        static PyObject* emit(PyObject* self, PyObject* const* args, Py_ssize_t nargs);

        std::size_t m_size;
        std::vector<std::string> m_sys_path;
        std::vector<std::unique_ptr<worker>> m_workers;
        std::unique_ptr<work_queue<chunk_task>> m_queue;
        bool m_running = false;

        mutable std::mutex m_start_mutex;
        std::condition_variable m_started;
        std::size_t m_ready = 0;
        std::string m_start_error;

        std::mutex m_events_mutex;
        std::vector<worker_event> m_events;
    };
} // namespace xparallel

#endif
