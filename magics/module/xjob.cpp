#include "xjob.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>

namespace xparallel
{
    namespace
    {
        std::uint64_t next_job_id()
        {
            static std::atomic<std::uint64_t> counter{0};
            return ++counter;
        }

        std::string item_range(const chunk_record& record)
        {
            return std::to_string(record.first_index) + ".." +
                   std::to_string(record.first_index + record.count - 1);
        }
    } // namespace

    job::job(std::shared_ptr<pool> workers, py::bytes factory, py::bytes sys_path,
             bool stop_on_error)
        : m_pool(std::move(workers)),
          m_state(std::make_shared<job_state>(next_job_id(), std::string(factory),
                                              std::string(sys_path), stop_on_error))
    {
    }

    job::~job()
    {
        if (!m_closed && !m_cancelled)
        {
            m_state->cancelled.store(true);
            try
            {
                cancel();
            }
            catch (...)
            {
                // A destructor must not throw; the job is marked cancelled either way.
            }
        }
        m_state->close();
    }

    void job::close()
    {
        m_closed = true;
        m_state->close();
    }

    void job::submit(std::uint64_t sequence, std::size_t first_index, std::size_t count,
                     const py::bytes& payload)
    {
        chunk_task task{m_state, sequence, first_index, count, std::string(payload)};
        m_pool->submit(std::move(task));
    }

    void job::wait(double timeout)
    {
        py::gil_scoped_release released;
        m_state->wait_for_delivery(m_taken, std::chrono::duration<double>(std::max(0.0, timeout)));
    }

    py::list job::take()
    {
        py::list deliveries;
        std::vector<chunk_outcome> outcomes = m_state->take_delivered();
        m_taken += outcomes.size();
        for (chunk_outcome& outcome : outcomes)
        {
            const chunk_record& record = outcome.record;
            if (!outcome.fatal.empty())
            {
                throw std::runtime_error("worker w" + std::to_string(record.worker + 1) +
                                         " failed on items " + item_range(record) + ": " +
                                         outcome.fatal);
            }
            if (!outcome.transfer_error.empty())
            {
                const py::object type =
                    py::module_::import("xparallel.transfer").attr("TransferError");
                PyErr_SetString(type.ptr(), ("the results of items " + item_range(record) +
                                             " cannot be unpickled in the notebook: " +
                                             outcome.transfer_error)
                                                .c_str());
                throw py::error_already_set();
            }
            const auto answer = py::reinterpret_steal<py::tuple>(outcome.answer.release());
            deliveries.append(py::make_tuple(record.sequence, record.worker, answer[0], answer[1],
                                             record.start, record.end, record.cpu, record.wait,
                                             outcome.payload_bytes));
        }
        return deliveries;
    }

    void job::cancel()
    {
        m_cancelled = true;
        py::gil_scoped_release released;
        m_pool->cancel(m_state);
    }
} // namespace xparallel
