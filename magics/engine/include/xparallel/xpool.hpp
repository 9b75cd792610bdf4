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
    //
    // A worker stuck in a blocking call never holds the pool: after a cancel, reclaim() sets
    // aside the workers still inside the cancelled job's items (each ends its interpreter on its
    // own thread when its call returns) and puts fresh workers in their slots; shutdown() gives
    // up on workers that do not end in time (abandoned: the process must then not finalise
    // CPython normally, see abandoned_workers()).
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
        // Cancels queued work, interrupts running items, ends every interpreter and joins the
        // threads, waiting at most `timeout` seconds in all. Returns false when some worker did
        // not end in time and was abandoned (its thread runs on, and ends its interpreter if its
        // call ever returns).
        bool shutdown(double timeout = 2.0);
        bool running() const noexcept { return m_running; }

        std::size_t size() const noexcept { return m_size; }
        // Grows (starting workers, waiting until they are ready) or shrinks (retiring the last
        // slots' workers, which end after their current chunk) in place.
        void resize(std::size_t workers);
        worker_state state(std::size_t worker) const;
        // Resident memory is per process; this is the count of live interpreters in the slots.
        std::size_t live_interpreters() const;
        // Workers set aside (or retired by a shrink) whose threads have not ended yet.
        std::size_t set_aside();

        // Before a new job: a worker still inside a cancelled job's item `grace` seconds after
        // the cancel is set aside and replaced by a fresh worker (not waited for: it takes work
        // as soon as its interpreter is ready).
        void reclaim(double grace);

        void submit(chunk_task task);
        // Drops the job's queued chunks and raises KeyboardInterrupt in the items it runs (an
        // interruptible time.sleep in such an item returns at once). Never blocks.
        void cancel(const std::shared_ptr<job_state>& job);

        std::vector<worker_event> drain_events();

        // Workers of any pool abandoned by a shutdown whose threads still run, process-wide.
        static std::size_t abandoned_workers() noexcept;

        struct worker;
        struct shared;

    private:
        std::shared_ptr<worker> spawn(std::size_t index);
        // Waits until `workers` have their interpreters; returns the first start error.
        std::string wait_ready(const std::vector<std::shared_ptr<worker>>& workers);
        void retire(std::shared_ptr<worker> w);
        void sweep_retired();

        std::size_t m_size;
        std::vector<std::string> m_sys_path;
        std::shared_ptr<shared> m_shared;
        std::vector<std::shared_ptr<worker>> m_workers;
        std::vector<std::shared_ptr<worker>> m_retired;
        bool m_running = false;
    };
} // namespace xparallel

#endif
