#ifndef XPARALLEL_XJOB_STATE_HPP
#define XPARALLEL_XJOB_STATE_HPP

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "xparallel/xordered_results.hpp"

namespace xparallel
{
    // Where and when a chunk ran: the timeline, and the per-item report.
    struct chunk_record
    {
        std::uint64_t sequence = 0;
        std::size_t first_index = 0;
        std::size_t count = 0;
        int worker = -1;
        double start = 0.0; // seconds since the job started
        double end = 0.0;
        double cpu = 0.0;      // CPU seconds of the worker thread (per-thread clock)
        double wait = 0.0;     // seconds the worker thread was runnable but waiting for a core
        std::size_t bytes = 0; // size of the pickled results
    };

    // What a worker hands back for one chunk. `payload` is the pickled (results, errors) pair,
    // or empty when the worker's own machinery failed, then `fatal` says why.
    struct chunk_outcome
    {
        chunk_record record;
        std::string payload;
        std::size_t errors = 0;
        std::string fatal;
    };

    // The part of a job the workers see: immutable inputs, atomic counters the main thread reads
    // without any worker's GIL, and the results handed back under a mutex.
    class job_state
    {
    public:
        job_state(std::uint64_t id, std::string factory, std::string sys_path, bool stop_on_error,
                  std::size_t workers);

        const std::uint64_t id;
        const std::string factory;  // pickled zero-argument callable returning the item function
        const std::string sys_path; // pickled list: the notebook's sys.path
        const bool stop_on_error;
        const std::chrono::steady_clock::time_point started;

        std::atomic<bool> cancelled{false};

        // Per worker, for this job.
        std::vector<std::atomic<std::uint64_t>> items_done;
        std::vector<std::atomic<std::int64_t>> cpu_ns;
        std::vector<std::atomic<std::int64_t>> busy_ns;
        std::vector<std::atomic<bool>> failed;

        double seconds_since_start() const;

        // Worker side.
        void deliver(chunk_outcome outcome);

        // Main side: waits up to `timeout` for a delivery after the `seen`-th, returns the count.
        std::size_t wait_for_delivery(std::size_t seen, std::chrono::duration<double> timeout);
        std::vector<chunk_outcome> take_ready();
        std::vector<chunk_record> timeline() const;
        // The records of the deliveries after the `from`-th, in delivery order.
        std::vector<chunk_record> records_since(std::size_t from) const;

    private:
        mutable std::mutex m_mutex;
        std::condition_variable m_delivered;
        ordered_results<chunk_outcome> m_results;
        std::vector<chunk_record> m_timeline;
        std::size_t m_deliveries = 0;
    };

    // A chunk of work in the queue: the items, pickled on the main side.
    struct chunk_task
    {
        std::shared_ptr<job_state> job;
        std::uint64_t sequence = 0;
        std::size_t first_index = 0;
        std::size_t count = 0;
        std::string payload;
    };
} // namespace xparallel

#endif
