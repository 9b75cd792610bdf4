#include "xjob.hpp"

#include <algorithm>
#include <chrono>

namespace xparallel
{
    namespace
    {
        std::uint64_t next_job_id()
        {
            static std::atomic<std::uint64_t> counter{0};
            return ++counter;
        }
    } // namespace

    job::job(std::shared_ptr<pool> workers, py::bytes factory, py::object items, py::bytes sys_path,
             options opts)
        : m_pool(std::move(workers)),
          m_state(std::make_shared<job_state>(next_job_id(), std::string(factory),
                                              std::string(sys_path), opts.stop_on_error,
                                              m_pool->size())),
          m_items(py::iter(items)), m_loads(py::module_::import("pickle").attr("loads")),
          m_sizer(chunk_sizer::settings{
              .workers = m_pool->size(), .fixed = opts.chunksize, .total = opts.total}),
          // Running: enough queued to keep every worker busy while the main thread collects.
          // Outstanding: a generous reorder buffer past a slow chunk, still a bounded look-ahead.
          m_window({.running = 2 * m_pool->size() + 1,
                    .outstanding = std::max<std::size_t>(1024, 64 * m_pool->size())}),
          m_total(opts.total)
    {
    }

    job::~job()
    {
        if (!m_finished)
        {
            try
            {
                cancel();
            }
            catch (...)
            {
                // A destructor must not throw; the workers are told to stop either way.
            }
        }
    }

    py::bytes pickle_items(const py::list& chunk, std::size_t first_index)
    {
        static auto* dumps = new py::object(py::module_::import("pickle").attr("dumps"));
        try
        {
            return (*dumps)(chunk, 5);
        }
        catch (py::error_already_set&)
        {
        }
        // Name the item that does not pickle, not the chunk.
        for (std::size_t offset = 0; offset < chunk.size(); ++offset)
        {
            try
            {
                (*dumps)(chunk[offset], 5);
            }
            catch (py::error_already_set& item_error)
            {
                const std::string item_repr =
                    py::repr(chunk[offset]).cast<std::string>().substr(0, 80);
                throw transfer_error(
                    "item " + std::to_string(first_index + offset) + " (" + item_repr +
                    ") cannot be sent to a worker: " + item_error.what() +
                    ". Workers receive items by pickling; pass plain data (numbers, strings, "
                    "tuples, lists, dicts) or picklable objects.");
            }
        }
        return (*dumps)(chunk, 5); // each item pickles alone: let the chunk's own error show
    }

    void job::feed()
    {
        while (!m_exhausted && !m_finished && m_window.may_dispatch())
        {
            const std::size_t size = m_sizer.next(m_dispatched);
            py::list chunk;
            for (std::size_t i = 0; i < size; ++i)
            {
                PyObject* item = PyIter_Next(m_items.ptr());
                if (!item)
                {
                    if (PyErr_Occurred())
                    {
                        // The input itself failed: stop the workers, then let it propagate.
                        py::error_already_set error;
                        cancel();
                        throw error;
                    }
                    m_exhausted = true;
                    break;
                }
                chunk.append(py::reinterpret_steal<py::object>(item));
            }
            if (chunk.empty())
            {
                break;
            }
            py::bytes payload;
            try
            {
                payload = pickle_items(chunk, m_dispatched);
            }
            catch (...)
            {
                cancel();
                throw;
            }
            chunk_task task{m_state, m_sequence++, m_dispatched, chunk.size(),
                            std::string(payload)};
            m_dispatched += chunk.size();
            m_window.dispatched();
            m_pool->submit(std::move(task));
        }
    }

    void job::note_deliveries()
    {
        for (const chunk_record& record : m_state->records_since(m_deliveries_noted))
        {
            ++m_deliveries_noted;
            m_window.delivered(record.bytes);
            // Work time, not time spent waiting for a core: on a loaded machine the chunks would
            // otherwise shrink, and the workers wait on the main thread for every small one.
            m_sizer.record(record.count, std::max(0.0, record.end - record.start - record.wait));
        }
    }

    void job::collect()
    {
        note_deliveries();
        for (chunk_outcome& outcome : m_state->take_ready())
        {
            m_window.collected(outcome.record.bytes);
            const chunk_record& record = outcome.record;
            if (!outcome.fatal.empty())
            {
                cancel();
                throw std::runtime_error(
                    "worker w" + std::to_string(record.worker + 1) + " failed on items " +
                    std::to_string(record.first_index) + ".." +
                    std::to_string(record.first_index + record.count - 1) + ": " + outcome.fatal);
            }
            try
            {
                absorb(outcome);
            }
            catch (...)
            {
                cancel();
                throw;
            }
            if (outcome.errors > 0 && m_state->stop_on_error)
            {
                m_pool->cancel(m_state);
                m_finished = true;
                return;
            }
        }
        finish_if_drained();
    }

    void job::absorb(const chunk_outcome& outcome)
    {
        const chunk_record& record = outcome.record;
        py::tuple answer;
        try
        {
            answer = m_loads(py::memoryview::from_memory(
                outcome.payload.data(), static_cast<py::ssize_t>(outcome.payload.size())));
        }
        catch (py::error_already_set& error)
        {
            throw transfer_error("the results of items " + std::to_string(record.first_index) +
                                 ".." + std::to_string(record.first_index + record.count - 1) +
                                 " cannot be unpickled in the notebook: " + error.what());
        }
        for (py::handle error : py::list(answer[1]))
        {
            py::tuple described = py::reinterpret_borrow<py::tuple>(error);
            // (index, worker, kind, pickled, type name, message, traceback, item repr)
            m_errors.append(py::make_tuple(described[0], record.worker + 1, described[1],
                                           described[2], described[3], described[4], described[5],
                                           described[6]));
        }
        PyObject* extended = PyObject_CallMethod(m_results.ptr(), "extend", "O", answer[0].ptr());
        if (!extended)
        {
            throw py::error_already_set();
        }
        Py_DECREF(extended);
        m_collected += record.count;
    }

    void job::finish_if_drained()
    {
        if (m_exhausted && m_window.outstanding() == 0)
        {
            m_finished = true;
        }
    }

    bool job::pump(double timeout)
    {
        using clock = std::chrono::steady_clock;
        const auto deadline =
            clock::now() + std::chrono::duration_cast<clock::duration>(
                               std::chrono::duration<double>(std::max(0.0, timeout)));
        while (!m_finished)
        {
            feed();
            finish_if_drained();
            if (m_finished)
            {
                break;
            }
            const clock::duration left = deadline - clock::now();
            {
                py::gil_scoped_release released;
                m_deliveries_seen = m_state->wait_for_delivery(
                    m_deliveries_seen, std::max(left, clock::duration::zero()));
            }
            collect();
            if (PyErr_CheckSignals() != 0)
            {
                py::error_already_set interrupted;
                cancel();
                throw interrupted;
            }
            if (clock::now() >= deadline)
            {
                break;
            }
        }
        return m_finished;
    }

    void job::cancel()
    {
        if (m_cancelled)
        {
            return;
        }
        // Keep whatever finished in order before the cancel: partial results (and their errors).
        if (!m_finished)
        {
            try
            {
                for (const chunk_outcome& outcome : m_state->take_ready())
                {
                    if (!outcome.fatal.empty())
                    {
                        break;
                    }
                    absorb(outcome);
                }
            }
            catch (const std::exception&)
            {
                // A result that cannot come back ends the partial results there.
            }
        }
        m_cancelled = true;
        m_finished = true;
        py::gil_scoped_release released;
        m_pool->cancel(m_state);
    }

    py::tuple job::progress() const
    {
        py::list workers;
        for (std::size_t i = 0; i < m_state->items_done.size(); ++i)
        {
            workers.append(py::make_tuple(m_state->items_done[i].load(),
                                          static_cast<double>(m_state->cpu_ns[i].load()) * 1e-9,
                                          static_cast<double>(m_state->busy_ns[i].load()) * 1e-9,
                                          static_cast<int>(m_pool->state(i)),
                                          m_state->failed[i].load()));
        }
        py::object total = m_total       ? py::object(py::int_(*m_total))
                           : m_exhausted ? py::object(py::int_(m_dispatched))
                                         : py::object(py::none());
        return py::make_tuple(m_dispatched, m_collected, total, workers);
    }

    py::list job::timeline() const
    {
        py::list rows;
        auto records = m_state->timeline();
        std::sort(records.begin(), records.end(),
                  [](const chunk_record& a, const chunk_record& b)
                  { return a.sequence < b.sequence; });
        for (const chunk_record& r : records)
        {
            rows.append(py::make_tuple(r.worker + 1, r.first_index, r.count, r.start, r.end, r.cpu,
                                       r.wait));
        }
        return rows;
    }
} // namespace xparallel
