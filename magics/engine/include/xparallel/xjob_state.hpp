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

namespace xparallel
{
    // Where and when a chunk ran.
    struct chunk_record
    {
        std::uint64_t sequence = 0;
        std::size_t first_index = 0;
        std::size_t count = 0;
        int worker = -1;
        double start = 0.0; // seconds since the job started
        double end = 0.0;
        double cpu = 0.0;  // CPU seconds of the worker thread (per-thread clock)
        double wait = 0.0; // seconds the worker thread was runnable but waiting for a core
    };

    // What a worker hands back for one chunk. `payload` is the pickled (results, errors) pair,
    // or empty when the worker's own machinery failed, then `fatal` says why.
    struct chunk_outcome
    {
        chunk_record record;
        std::string payload;
        std::string fatal;
    };

    // The part of a job the workers see: immutable inputs, and the chunks handed back (in any
    // order) under a mutex.
    class job_state
    {
    public:
        job_state(std::uint64_t id, std::string factory, std::string sys_path, bool stop_on_error);

        const std::uint64_t id;
        const std::string factory;  // pickled zero-argument callable returning the item function
        const std::string sys_path; // pickled list: the notebook's sys.path
        const bool stop_on_error;
        const std::chrono::steady_clock::time_point started;

        std::atomic<bool> cancelled{false};

        double seconds_since_start() const;

        // Worker side.
        void deliver(chunk_outcome outcome);

        // Main side: waits up to `timeout` until more than `seen` chunks were delivered in all.
        void wait_for_delivery(std::size_t seen, std::chrono::duration<double> timeout);
        // The chunks delivered since the last call, in delivery order.
        std::vector<chunk_outcome> take_delivered();

    private:
        mutable std::mutex m_mutex;
        std::condition_variable m_delivered;
        std::vector<chunk_outcome> m_waiting;
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
