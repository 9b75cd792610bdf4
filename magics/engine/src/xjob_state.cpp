#include "xparallel/xjob_state.hpp"

#include <utility>

namespace xparallel
{
    job_state::job_state(std::uint64_t job_id, std::string factory_pickle, std::string path_pickle,
                         bool stop)
        : id(job_id), factory(std::move(factory_pickle)), sys_path(std::move(path_pickle)),
          stop_on_error(stop), started(std::chrono::steady_clock::now())
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
            ++m_deliveries;
            if (!m_closed)
            {
                m_waiting.push_back(std::move(outcome));
            }
        }
        // A closed job's outcome ends here, its answer released with the GIL the caller holds.
        m_delivered.notify_all();
    }

    void job_state::close()
    {
        std::vector<chunk_outcome> dropped;
        {
            std::lock_guard lock(m_mutex);
            m_closed = true;
            dropped = std::exchange(m_waiting, {});
        }
    }

    void job_state::wait_for_delivery(std::size_t seen, std::chrono::duration<double> timeout)
    {
        std::unique_lock lock(m_mutex);
        m_delivered.wait_for(lock, timeout, [&] { return m_deliveries > seen; });
    }

    std::vector<chunk_outcome> job_state::take_delivered()
    {
        std::lock_guard lock(m_mutex);
        return std::exchange(m_waiting, {});
    }
} // namespace xparallel
