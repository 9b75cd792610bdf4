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
#include <utility>
#include <vector>

#include <Python.h>

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

    // A strong reference to an object of the main interpreter, movable, never copied. It is
    // only ever released with the main interpreter's GIL held: by the main thread, or by a
    // worker while it holds a main-interpreter thread state (job_state::deliver).
    class main_object
    {
    public:
        main_object() = default;
        explicit main_object(PyObject* owned) noexcept : p_object(owned) {}
        main_object(main_object&& other) noexcept : p_object(std::exchange(other.p_object, nullptr)) {}
        main_object& operator=(main_object&& other) noexcept
        {
            std::swap(p_object, other.p_object);
            return *this;
        }
        ~main_object() { Py_XDECREF(p_object); }
        main_object(const main_object&) = delete;
        main_object& operator=(const main_object&) = delete;

        PyObject* get() const noexcept { return p_object; }
        PyObject* release() noexcept { return std::exchange(p_object, nullptr); }

    private:
        PyObject* p_object = nullptr;
    };

    // What a worker hands back for one chunk: the (results, errors) pair, already unpickled
    // into the main interpreter by the worker (so the notebook's thread copies nothing), with the
    // bytes it took in transit (out-of-band buffers included); or `transfer_error` when it would not unpickle there; or nothing and
    // `fatal` when the worker's own machinery failed.
    struct chunk_outcome
    {
        chunk_record record;
        main_object answer;
        std::size_t payload_bytes = 0;
        std::string transfer_error;
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

        // Worker side. With an answer, called holding the main interpreter's GIL: an outcome
        // that arrives after close() is released here.
        void deliver(chunk_outcome outcome);

        // Main side: waits up to `timeout` until more than `seen` chunks were delivered in all.
        void wait_for_delivery(std::size_t seen, std::chrono::duration<double> timeout);
        // The chunks delivered since the last call, in delivery order.
        std::vector<chunk_outcome> take_delivered();
        // Main side, with the GIL: nobody takes chunks any more; those waiting are released now,
        // later ones by the worker that delivers them. So no main object outlives the job on a
        // thread without the main GIL.
        void close();

    private:
        mutable std::mutex m_mutex;
        std::condition_variable m_delivered;
        std::vector<chunk_outcome> m_waiting;
        std::size_t m_deliveries = 0;
        bool m_closed = false;
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
