#include "xparallel/xpool.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <utility>

#include "xworker.hpp"

namespace xparallel
{
    using namespace detail;

    pool::pool(std::size_t workers, std::vector<std::string> sys_path)
        : m_size(workers == 0 ? 1 : workers), m_sys_path(std::move(sys_path))
    {
    }

    pool::~pool()
    {
        if (!m_running && m_retired.empty())
        {
            return;
        }
        // Starting workers need the main GIL: never wait for them while holding it.
        if (Py_IsInitialized() && PyGILState_Check())
        {
            PyThreadState* state = PyEval_SaveThread();
            shutdown();
            PyEval_RestoreThread(state);
        }
        else
        {
            shutdown();
        }
    }

    std::size_t pool::abandoned_workers() noexcept
    {
        return abandoned_count.load();
    }

    std::shared_ptr<pool::worker> pool::spawn(std::size_t index)
    {
        auto w = std::make_shared<worker>();
        w->index = index;
        w->thread = thread_without_sigint([s = m_shared, w] { run_worker(s, w); });
        return w;
    }

    std::string pool::wait_ready(const std::vector<std::shared_ptr<worker>>& workers)
    {
        std::unique_lock lock(lifecycle_mutex());
        lifecycle().wait(lock,
                         [&] {
                             return std::all_of(workers.begin(), workers.end(),
                                                [](const auto& w) { return w->ready; });
                         });
        for (const auto& w : workers)
        {
            if (!w->start_error.empty())
            {
                return w->start_error;
            }
        }
        return {};
    }

    void pool::start()
    {
        if (m_running)
        {
            return;
        }
        m_shared = std::make_shared<shared>();
        m_shared->sys_path = m_sys_path;
        m_workers.clear();
        for (std::size_t i = 0; i < m_size; ++i)
        {
            m_workers.push_back(spawn(i));
        }
        m_running = true;
        const std::string error = wait_ready(m_workers);
        if (!error.empty())
        {
            shutdown();
            throw std::runtime_error(error);
        }
    }

    bool pool::shutdown(double timeout)
    {
        if (!m_running && m_retired.empty())
        {
            return true;
        }
        const auto deadline =
            clock::now() + std::chrono::duration_cast<clock::duration>(
                               std::chrono::duration<double>(std::clamp(timeout, 0.0, 3600.0)));
        m_running = false;
        std::vector<std::shared_ptr<worker>> all = m_workers;
        all.insert(all.end(), m_retired.begin(), m_retired.end());
        m_workers.clear();
        m_retired.clear();
        if (m_shared)
        {
            m_shared->queue.remove_if([](const chunk_task&) { return true; });
        }
        for (auto& w : all)
        {
            w->retiring = true;
            if (w->in_chunk.load())
            {
                request_interrupt(*w, w->current_job.load());
            }
        }
        if (m_shared)
        {
            m_shared->queue.close();
        }

        bool clean = true;
        {
            std::unique_lock lock(lifecycle_mutex());
            lifecycle().wait_until(lock, deadline,
                                   [&] {
                                       return std::all_of(all.begin(), all.end(),
                                                          [](const auto& w) { return w->done; });
                                   });
            for (auto& w : all)
            {
                if (!w->done)
                {
                    w->abandoned = true;
                    ++abandoned_count;
                    clean = false;
                }
            }
        }
        for (auto& w : all)
        {
            bool abandoned = false;
            {
                std::lock_guard lock(lifecycle_mutex());
                abandoned = w->abandoned && !w->done;
            }
            if (abandoned)
            {
                // Its thread keeps what it uses alive (shared pointers) and ends its
                // interpreter itself if its call ever returns.
                w->thread.detach();
            }
            else if (w->thread.joinable())
            {
                w->thread.join();
            }
        }
        return clean;
    }

    void pool::retire(std::shared_ptr<worker> w)
    {
        w->retiring = true;
        if (m_shared)
        {
            m_shared->queue.wake_all();
        }
        m_retired.push_back(std::move(w));
    }

    void pool::sweep_retired()
    {
        std::erase_if(m_retired,
                      [](const std::shared_ptr<worker>& w)
                      {
                          if (!is_done(*w))
                          {
                              return false;
                          }
                          if (w->thread.joinable())
                          {
                              w->thread.join();
                          }
                          return true;
                      });
    }

    std::size_t pool::set_aside()
    {
        sweep_retired();
        return m_retired.size();
    }

    void pool::resize(std::size_t workers)
    {
        if (workers == 0)
        {
            throw std::invalid_argument("a pool needs at least one worker");
        }
        if (workers == m_size)
        {
            return;
        }
        if (!m_running)
        {
            m_size = workers;
            return;
        }
        if (workers > m_size)
        {
            std::vector<std::shared_ptr<worker>> fresh;
            for (std::size_t i = m_size; i < workers; ++i)
            {
                fresh.push_back(spawn(i));
            }
            m_workers.insert(m_workers.end(), fresh.begin(), fresh.end());
            const std::size_t before = m_size;
            m_size = workers;
            const std::string error = wait_ready(fresh);
            if (!error.empty())
            {
                for (auto& w : fresh)
                {
                    retire(w);
                }
                m_workers.resize(before);
                m_size = before;
                throw std::runtime_error(error);
            }
            return;
        }
        std::vector<std::shared_ptr<worker>> leaving(
            m_workers.begin() + static_cast<std::ptrdiff_t>(workers), m_workers.end());
        m_workers.resize(workers);
        m_size = workers;
        for (auto& w : leaving)
        {
            retire(w);
        }
        // Idle workers leave at once; give them a moment, so that their interpreters are gone
        // when this returns (a busy one ends after its chunk, as a set-aside worker does).
        std::unique_lock lock(lifecycle_mutex());
        lifecycle().wait_for(lock, std::chrono::seconds(1),
                             [&] {
                                 return std::all_of(leaving.begin(), leaving.end(),
                                                    [](const auto& w) { return w->done; });
                             });
        lock.unlock();
        sweep_retired();
    }

    void pool::reclaim(double grace)
    {
        sweep_retired();
        if (!m_running)
        {
            return;
        }
        const std::int64_t grace_ns = static_cast<std::int64_t>(std::max(0.0, grace) * 1e9);
        for (std::size_t i = 0; i < m_workers.size(); ++i)
        {
            auto& w = m_workers[i];
            const std::uint64_t job = w->cancelled_job.load();
            auto stuck = [&] { return job != 0 && w->in_chunk.load() && w->current_job == job; };
            if (!stuck())
            {
                continue;
            }
            const std::int64_t deadline = w->cancelled_at.load() + grace_ns;
            while (stuck() && now_ns() < deadline)
            {
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
            if (stuck())
            {
                retire(w);
                w = spawn(i);
            }
        }
    }

    worker_state pool::state(std::size_t i) const
    {
        return i < m_workers.size() ? m_workers[i]->state.load() : worker_state::stopped;
    }

    std::size_t pool::live_interpreters() const
    {
        std::size_t count = 0;
        for (const auto& w : m_workers)
        {
            count += w->interp.load() != nullptr;
        }
        return count;
    }

    void pool::submit(chunk_task task)
    {
        m_shared->queue.push(std::move(task));
    }

    void pool::cancel(const std::shared_ptr<job_state>& job)
    {
        job->cancelled.store(true);
        if (!m_running)
        {
            return;
        }
        m_shared->queue.remove_if([&](const chunk_task& task) { return task.job == job; });
        for (auto& w : m_workers)
        {
            if (w->in_chunk.load() && w->current_job.load() == job->id)
            {
                w->cancelled_at = now_ns();
                w->cancelled_job = job->id;
                request_interrupt(*w, job->id);
            }
        }
    }

    std::vector<worker_event> pool::drain_events()
    {
        if (!m_shared)
        {
            return {};
        }
        std::lock_guard lock(m_shared->events_mutex);
        return std::exchange(m_shared->events, {});
    }
} // namespace xparallel
