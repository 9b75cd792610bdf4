#ifndef XPARALLEL_XJOB_HPP
#define XPARALLEL_XJOB_HPP

#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>

#include <pybind11/pybind11.h>

#include "xparallel/xchunk_sizer.hpp"
#include "xparallel/xdispatch_window.hpp"
#include "xparallel/xjob_state.hpp"
#include "xparallel/xpool.hpp"

namespace xparallel
{
    namespace py = pybind11;

    // Items or results that cannot travel between the notebook and a worker (a TypeError).
    class transfer_error : public std::runtime_error
    {
    public:
        using std::runtime_error::runtime_error;
    };

    // A chunk of items pickled for a worker (protocol 5); an item that does not pickle is named in
    // a transfer_error. Shared by the engine and the Python backends.
    py::bytes pickle_items(const py::list& chunk, std::size_t first_index);

    // The main side of one map over a pool: consumes the input iterator lazily (bounded
    // look-ahead), pickles chunks into the queue, waits with the GIL released, and unpickles the
    // results in input order into `results`. Lives on the main thread only.
    class job
    {
    public:
        struct options
        {
            std::size_t chunksize = 0; // 0: automatic
            bool stop_on_error = true;
            std::optional<std::size_t> total;
        };

        job(std::shared_ptr<pool> workers, py::bytes factory, py::object items, py::bytes sys_path,
            options opts);
        // A job dropped before it finished stops its workers.
        ~job();
        job(const job&) = delete;
        job& operator=(const job&) = delete;

        // Feeds, waits and collects for up to `timeout` seconds; returns whether the job is over.
        // Raises KeyboardInterrupt (after cancelling) when the user interrupts, and the input
        // iterator's own exception when it fails.
        bool pump(double timeout);
        void cancel();

        py::list results() const { return m_results; }
        py::list errors() const { return m_errors; }
        py::tuple progress() const;
        py::list timeline() const;
        bool finished() const noexcept { return m_finished; }
        bool cancelled() const noexcept { return m_cancelled; }
        double elapsed() const { return m_state->seconds_since_start(); }

    private:
        void feed();
        // Takes note of the chunks delivered since the last call, in any order: they leave the
        // running window, and the sizer learns from them.
        void note_deliveries();
        void collect();
        // Unpickles one delivered chunk into `results` and `errors`, in order.
        void absorb(const chunk_outcome& outcome);
        void finish_if_drained();

        std::shared_ptr<pool> m_pool;
        std::shared_ptr<job_state> m_state;
        py::object m_items;
        py::object m_loads;
        chunk_sizer m_sizer;
        dispatch_window m_window;
        std::optional<std::size_t> m_total;
        py::list m_results;
        py::list m_errors;
        std::uint64_t m_sequence = 0;
        std::size_t m_dispatched = 0;
        std::size_t m_collected = 0;
        std::size_t m_deliveries_seen = 0;
        std::size_t m_deliveries_noted = 0;
        bool m_exhausted = false;
        bool m_finished = false;
        bool m_cancelled = false;
    };
} // namespace xparallel

#endif
