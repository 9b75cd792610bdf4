#include "xparallel/xjob_state.hpp"

namespace xparallel
{
    job_state::job_state(std::uint64_t job_id, std::string factory_pickle, std::string path_pickle,
                         bool stop, std::size_t workers)
        : id(job_id), factory(std::move(factory_pickle)), sys_path(std::move(path_pickle)),
          stop_on_error(stop), started(std::chrono::steady_clock::now()), items_done(workers),
          cpu_ns(workers), busy_ns(workers), failed(workers)
    {
    }

    double job_state::seconds_since_start() const
    {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    }

    void job_state::deliver(chunk_outcome outcome)
    {
        {
            std::lock_guard lock(m_mutex);
            m_timeline.push_back(outcome.record);
            const auto sequence = outcome.record.sequence;
            m_results.put(sequence, std::move(outcome));
            ++m_deliveries;
        }
        m_delivered.notify_all();
    }

    std::size_t job_state::wait_for_delivery(std::size_t seen,
                                             std::chrono::duration<double> timeout)
    {
        std::unique_lock lock(m_mutex);
        m_delivered.wait_for(lock, timeout, [&] { return m_deliveries > seen; });
        return m_deliveries;
    }

    std::vector<chunk_outcome> job_state::take_ready()
    {
        std::lock_guard lock(m_mutex);
        return m_results.take_ready();
    }

    std::vector<chunk_record> job_state::records_since(std::size_t from) const
    {
        std::lock_guard lock(m_mutex);
        if (from >= m_timeline.size())
        {
            return {};
        }
        return {m_timeline.begin() + static_cast<std::ptrdiff_t>(from), m_timeline.end()};
    }

    std::vector<chunk_record> job_state::timeline() const
    {
        std::lock_guard lock(m_mutex);
        return m_timeline;
    }
} // namespace xparallel
