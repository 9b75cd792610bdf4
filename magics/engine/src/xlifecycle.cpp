#include "xworker.hpp"

namespace xparallel
{
    namespace detail
    {
        std::atomic<std::size_t> abandoned_count{0};

        // One lock and condition for every worker's ready/done, across pools: a shutdown also
        // waits for workers set aside by earlier pools. Never destroyed (abandoned threads may
        // still use them while the process exits).
        std::mutex& lifecycle_mutex()
        {
            static auto* mutex = new std::mutex();
            return *mutex;
        }

        std::condition_variable& lifecycle()
        {
            static auto* condition = new std::condition_variable();
            return *condition;
        }

        void mark_ready(pool::worker& w, const std::string& error)
        {
            {
                std::lock_guard lock(lifecycle_mutex());
                w.ready = true;
                w.start_error = error;
            }
            lifecycle().notify_all();
        }

        void mark_done(pool::worker& w)
        {
            {
                std::lock_guard lock(lifecycle_mutex());
                w.ready = true;
                w.done = true;
                if (w.abandoned)
                {
                    --abandoned_count;
                }
            }
            lifecycle().notify_all();
        }

        bool is_done(const pool::worker& w)
        {
            std::lock_guard lock(lifecycle_mutex());
            return w.done;
        }
    } // namespace detail
} // namespace xparallel
