#ifndef XPARALLEL_XJOB_HPP
#define XPARALLEL_XJOB_HPP

#include <cstddef>
#include <cstdint>
#include <memory>

#include <pybind11/pybind11.h>

#include "xparallel/xjob_state.hpp"
#include "xparallel/xpool.hpp"

namespace xparallel
{
    namespace py = pybind11;

    // The engine's side of one job, for the dispatcher (xparallel/dispatch.py): chunks go into the
    // pool's queue as pickled bytes, and come back in any order, unpickled into the main
    // interpreter by the workers themselves, from a view of their own buffer (no second copy). Ordering, chunk sizes, the window,
    // progress and errors are the dispatcher's, the same for every backend. Main thread only.
    class job
    {
    public:
        job(std::shared_ptr<pool> workers, py::bytes factory, py::bytes sys_path,
            bool stop_on_error);
        // A job dropped before it was closed stops its workers.
        ~job();
        job(const job&) = delete;
        job& operator=(const job&) = delete;

        void submit(std::uint64_t sequence, std::size_t first_index, std::size_t count,
                    const py::bytes& payload);
        // Waits, the GIL released, until a chunk came back that take() has not given yet, or
        // `timeout` s passed.
        void wait(double timeout);
        // The chunks that came back since the last call, in any order:
        // [(sequence, worker, results, errors, start, end, cpu, wait, bytes)], worker 0-based,
        // times in seconds since the job started, bytes the pickled results took. A worker whose
        // machinery failed raises RuntimeError, a result that cannot be unpickled here
        // TransferError.
        py::list take();
        // Drops the job's queued chunks and interrupts its running items; never waits.
        void cancel();
        // The dispatcher is done: chunks still to come are dropped by their workers.
        void close();
        double elapsed() const { return m_state->seconds_since_start(); }

    private:
        std::shared_ptr<pool> m_pool;
        std::shared_ptr<job_state> m_state;
        std::size_t m_taken = 0;
        bool m_cancelled = false;
        bool m_closed = false;
    };
} // namespace xparallel

#endif
