#include "xparallel/xpool.hpp"

#include <csignal>
#include <cstdlib>
#include <ctime>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <stdexcept>
#include <utility>

#include "xparallel/xsubinterpreter.hpp"

namespace xparallel
{
    using clock = std::chrono::steady_clock;

    struct pool::shared
    {
        std::vector<std::string> sys_path;
        work_queue<chunk_task> queue;
        std::mutex events_mutex;
        std::vector<worker_event> events;
    };

    struct pool::worker
    {
        std::size_t index = 0;
        std::thread thread;
        std::atomic<worker_state> state{worker_state::starting};
        std::atomic<PyInterpreterState*> interp{nullptr};
        std::atomic<unsigned long> thread_id{0};
        std::atomic<std::uint64_t> current_job{0};
        std::atomic<bool> in_chunk{false};
        // Set aside, retired by a shrink, or the pool shuts down: leave after the current chunk.
        std::atomic<bool> retiring{false};
        // The last job cancelled while this worker ran one of its chunks, and when (steady ns).
        std::atomic<std::uint64_t> cancelled_job{0};
        std::atomic<std::int64_t> cancelled_at{0};
        int schedstat = -1; // /proc/thread-self/schedstat of the worker thread

        // Guarded by lifecycle_mutex().
        bool ready = false;
        bool done = false; // the interpreter is ended; joining the thread returns at once
        bool abandoned = false;
        std::string start_error;

        // Interrupts: a thread of this worker's own, made on the first interrupt and joined when
        // the worker ends, so that cancels start no threads and one stuck worker delays no other.
        std::mutex interrupt_mutex;
        std::condition_variable interrupt_requested;
        std::condition_variable sleep_wake;
        std::deque<std::uint64_t> interrupt_queue;
        bool interrupts_closed = false;
        std::thread interrupter;
        std::uint64_t wake_job = 0; // an interruptible time.sleep in this job's item returns now
        bool sleeping = false;
        std::atomic<std::uint64_t> woken_job{0}; // the job whose sleep took the wake-up
    };

    namespace
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

        // Only the main interpreter's main thread handles signals: workers and helpers never see
        // SIGINT. Threads are started with it blocked, so there is no window where they could.
        template <class F> std::thread thread_without_sigint(F&& body)
        {
            sigset_t block, previous;
            sigemptyset(&block);
            sigaddset(&block, SIGINT);
            pthread_sigmask(SIG_BLOCK, &block, &previous);
            std::thread thread(std::forward<F>(body));
            pthread_sigmask(SIG_SETMASK, &previous, nullptr);
            return thread;
        }

        std::int64_t thread_cpu_ns()
        {
            timespec ts{};
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
            return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
        }

        // Nanoseconds this thread spent runnable but waiting for a core (schedstat's 2nd field).
        std::int64_t run_delay_ns(int fd)
        {
            if (fd < 0)
            {
                return 0;
            }
            char text[128];
            const ssize_t size = pread(fd, text, sizeof(text) - 1, 0);
            if (size <= 0)
            {
                return 0;
            }
            text[size] = '\0';
            char* rest = nullptr;
            std::strtoull(text, &rest, 10);
            return static_cast<std::int64_t>(std::strtoull(rest, nullptr, 10));
        }

        std::int64_t now_ns()
        {
            return std::chrono::duration_cast<std::chrono::nanoseconds>(
                       clock::now().time_since_epoch())
                .count();
        }

        // The current Python exception as "Type: message", cleared.
        std::string take_python_error()
        {
            PyObject* error = PyErr_GetRaisedException();
            if (!error)
            {
                return "unknown error";
            }
            std::string text = Py_TYPE(error)->tp_name;
            if (PyObject* message = PyObject_Str(error))
            {
                if (const char* utf8 = PyUnicode_AsUTF8(message); utf8 && *utf8)
                {
                    text += std::string(": ") + utf8;
                }
                Py_DECREF(message);
            }
            PyErr_Clear();
            Py_DECREF(error);
            return text;
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

        // Runs on the worker's interrupter thread: raises KeyboardInterrupt in the worker for each
        // request, unless the item already took it in an interruptible sleep.
        void run_interrupter(pool::worker& w)
        {
            std::unique_lock lock(w.interrupt_mutex);
            while (true)
            {
                w.interrupt_requested.wait(
                    lock, [&] { return w.interrupts_closed || !w.interrupt_queue.empty(); });
                if (w.interrupts_closed)
                {
                    return;
                }
                const std::uint64_t job = w.interrupt_queue.front();
                w.interrupt_queue.pop_front();
                // A sleeping item wakes by itself (the request notified it): no async exception
                // is needed then, and one would land later, in the item's own error handling.
                w.interrupt_requested.wait_for(lock, std::chrono::milliseconds(50),
                                               [&] {
                                                   return w.interrupts_closed || !w.sleeping ||
                                                          w.woken_job.load() == job;
                                               });
                if (w.interrupts_closed)
                {
                    return;
                }
                if (w.woken_job.load() == job)
                {
                    continue;
                }
                lock.unlock();
                // Holding the worker's GIL (it yields it between bytecodes, or in a blocking
                // call), so the check and the raise see one state of the worker.
                raise_keyboard_interrupt(w.interp.load(), w.thread_id.load(),
                                         [&]
                                         {
                                             std::lock_guard guard(w.interrupt_mutex);
                                             if (w.woken_job.load() == job)
                                             {
                                                 return false;
                                             }
                                             if (w.wake_job == job)
                                             {
                                                 w.wake_job = 0; // one interrupt, one exception
                                             }
                                             return w.in_chunk.load() &&
                                                    w.current_job.load() == job;
                                         });
                lock.lock();
            }
        }

        // Called from the main thread; never blocks on the worker.
        void request_interrupt(pool::worker& w, std::uint64_t job)
        {
            std::lock_guard lock(w.interrupt_mutex);
            if (w.interrupts_closed || !w.interp.load())
            {
                return;
            }
            w.wake_job = job;
            w.interrupt_queue.push_back(job);
            if (!w.interrupter.joinable())
            {
                w.interrupter = thread_without_sigint([&w] { run_interrupter(w); });
            }
            w.sleep_wake.notify_all();
            w.interrupt_requested.notify_all();
        }

        // time.sleep in a worker's items: the same wait, but a cancel of the item's job ends it
        // at once with KeyboardInterrupt. CPython's own sleep cannot be woken there: it restarts
        // after EINTR, and only the main interpreter's main thread handles signals, so neither a
        // signal nor PyThreadState_SetAsyncExc reaches a sub-interpreter's thread inside it.
        PyObject* interruptible_sleep(PyObject* self, PyObject* argument)
        {
            auto* w = static_cast<pool::worker*>(PyLong_AsVoidPtr(PyTuple_GET_ITEM(self, 0)));
            PyObject* original = PyTuple_GET_ITEM(self, 1);
            if (PyThread_get_thread_ident() != w->thread_id.load() || !w->in_chunk.load())
            {
                return PyObject_CallOneArg(original, argument); // a thread the item started
            }
            if (!PyFloat_Check(argument) && !PyLong_Check(argument))
            {
                return PyObject_CallOneArg(original, argument); // its conversions and errors
            }
            const double seconds = PyFloat_AsDouble(argument);
            if (seconds == -1.0 && PyErr_Occurred())
            {
                return nullptr;
            }
            if (std::isnan(seconds))
            {
                PyErr_SetString(PyExc_ValueError, "Invalid value NaN (not a number)");
                return nullptr;
            }
            if (seconds < 0)
            {
                PyErr_SetString(PyExc_ValueError, "sleep length must be non-negative");
                return nullptr;
            }
            const std::uint64_t job = w->current_job.load();
            bool woken = false;
            Py_BEGIN_ALLOW_THREADS
            {
                std::unique_lock lock(w->interrupt_mutex);
                w->sleeping = true;
                const auto deadline =
                    clock::now() + std::chrono::duration_cast<clock::duration>(
                                       std::chrono::duration<double>(std::min(seconds, 1e9)));
                woken =
                    w->sleep_wake.wait_until(lock, deadline, [&] { return w->wake_job == job; });
                if (woken)
                {
                    w->woken_job = job;
                    w->wake_job = 0;
                }
                w->sleeping = false;
            }
            w->interrupt_requested.notify_all();
            Py_END_ALLOW_THREADS if (woken)
            {
                PyErr_SetNone(PyExc_KeyboardInterrupt);
                return nullptr;
            }
            Py_RETURN_NONE;
        }

        PyObject* emit(PyObject* self, PyObject* const* args, Py_ssize_t nargs)
        {
            if (nargs != 2 || !PyLong_Check(args[0]) || !PyUnicode_Check(args[1]))
            {
                PyErr_SetString(PyExc_TypeError, "emit(stream: int, text: str)");
                return nullptr;
            }
            auto* w = static_cast<pool::worker*>(PyLong_AsVoidPtr(PyTuple_GET_ITEM(self, 0)));
            auto* s = static_cast<pool::shared*>(PyLong_AsVoidPtr(PyTuple_GET_ITEM(self, 1)));
            if (w->retiring.load())
            {
                // Set aside: its job was cancelled long ago, and its slot prints for another.
                Py_RETURN_NONE;
            }
            Py_ssize_t size = 0;
            const char* text = PyUnicode_AsUTF8AndSize(args[1], &size);
            if (!text)
            {
                return nullptr;
            }
            {
                std::lock_guard lock(s->events_mutex);
                s->events.push_back({static_cast<int>(w->index),
                                     static_cast<int>(PyLong_AsLong(args[0])),
                                     std::string(text, static_cast<std::size_t>(size))});
            }
            Py_RETURN_NONE;
        }

        // Imports xparallel._worker in the new interpreter with the notebook's path, a way to
        // send output home and the interruptible sleep. Returns its run_chunk (new reference), or
        // null with `error` set.
        PyObject* bootstrap(pool::shared& s, pool::worker& w, std::string& error)
        {
            PyObject* path = PySys_GetObject("path"); // borrowed
            if (path && PyList_Check(path))
            {
                PyList_SetSlice(path, 0, PyList_GET_SIZE(path), nullptr);
                for (const auto& entry : s.sys_path)
                {
                    PyObject* item = PyUnicode_FromStringAndSize(entry.data(), entry.size());
                    if (item)
                    {
                        PyList_Append(path, item);
                        Py_DECREF(item);
                    }
                }
            }
            static PyMethodDef emit_definition = {
                "emit", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&emit)),
                METH_FASTCALL, "emit(stream, text): hand worker output to the notebook"};
            static PyMethodDef sleep_definition = {
                "sleep", &interruptible_sleep, METH_O,
                "sleep(seconds)\n\nDelay execution for a given number of seconds; a cancel of "
                "the item's job (the notebook's interrupt) ends it with KeyboardInterrupt."};
            PyObject* run_chunk_function = nullptr;
            PyObject* module = PyImport_ImportModule("xparallel._worker");
            PyObject* time_module = module ? PyImport_ImportModule("time") : nullptr;
            PyObject* original_sleep =
                time_module ? PyObject_GetAttrString(time_module, "sleep") : nullptr;
            PyObject* emit_self =
                Py_BuildValue("(NN)", PyLong_FromVoidPtr(&w), PyLong_FromVoidPtr(&s));
            PyObject* sleep_self =
                original_sleep ? Py_BuildValue("(NO)", PyLong_FromVoidPtr(&w), original_sleep)
                               : nullptr;
            PyObject* emit_function =
                emit_self ? PyCFunction_NewEx(&emit_definition, emit_self, nullptr) : nullptr;
            PyObject* sleep_function =
                sleep_self ? PyCFunction_NewEx(&sleep_definition, sleep_self, nullptr) : nullptr;
            PyObject* started = emit_function && sleep_function
                                    ? PyObject_CallMethod(module, "start", "nOO", w.index + 1,
                                                          emit_function, sleep_function)
                                    : nullptr;
            if (started)
            {
                run_chunk_function = PyObject_GetAttrString(module, "run_chunk");
            }
            if (!run_chunk_function)
            {
                error = "a worker could not start xparallel._worker: " + take_python_error();
            }
            Py_XDECREF(started);
            Py_XDECREF(sleep_function);
            Py_XDECREF(emit_function);
            Py_XDECREF(sleep_self);
            Py_XDECREF(emit_self);
            Py_XDECREF(original_sleep);
            Py_XDECREF(time_module);
            Py_XDECREF(module);
            return run_chunk_function;
        }

        void run_chunk(pool::worker& w, PyObject* run_chunk_function, chunk_task& task)
        {
            job_state& job = *task.job;
            w.current_job = job.id;
            w.state = worker_state::busy;

            chunk_outcome outcome;
            outcome.record.sequence = task.sequence;
            outcome.record.first_index = task.first_index;
            outcome.record.count = task.count;
            outcome.record.worker = static_cast<int>(w.index);
            outcome.record.start = job.seconds_since_start();
            const std::int64_t cpu_before = thread_cpu_ns();
            const std::int64_t wait_before = run_delay_ns(w.schedstat);

            PyObject* factory =
                PyMemoryView_FromMemory(const_cast<char*>(job.factory.data()),
                                        static_cast<Py_ssize_t>(job.factory.size()), PyBUF_READ);
            PyObject* sys_path =
                PyMemoryView_FromMemory(const_cast<char*>(job.sys_path.data()),
                                        static_cast<Py_ssize_t>(job.sys_path.size()), PyBUF_READ);
            PyObject* items = PyMemoryView_FromMemory(
                task.payload.data(), static_cast<Py_ssize_t>(task.payload.size()), PyBUF_READ);
            w.in_chunk = true;
            PyObject* answer = nullptr;
            if (job.cancelled.load())
            {
                // Cancelled between the queue and here (the cancel saw in_chunk false): skip.
                PyErr_SetNone(PyExc_KeyboardInterrupt);
            }
            else if (factory && sys_path && items)
            {
                // "O" and a bool object, not "p": Py_BuildValue has "p" only from 3.14 on.
                answer = PyObject_CallFunction(
                    run_chunk_function, "KOOOnO", static_cast<unsigned long long>(job.id), factory,
                    sys_path, items, static_cast<Py_ssize_t>(task.first_index),
                    job.stop_on_error ? Py_True : Py_False);
            }
            w.in_chunk = false;
            // An interrupt that arrived too late to land in the chunk must not hit the next one.
            PyThreadState_SetAsyncExc(w.thread_id.load(), nullptr);

            if (answer && PyBytes_Check(answer))
            {
                outcome.payload.assign(PyBytes_AS_STRING(answer),
                                       static_cast<std::size_t>(PyBytes_GET_SIZE(answer)));
            }
            else
            {
                outcome.fatal = answer ? "run_chunk did not return bytes" : take_python_error();
            }
            Py_XDECREF(answer);
            Py_XDECREF(items);
            Py_XDECREF(sys_path);
            Py_XDECREF(factory);
            // Release the items' buffer now rather than when the queue slot is reused.
            std::string().swap(task.payload);

            const std::int64_t cpu = thread_cpu_ns() - cpu_before;
            outcome.record.end = job.seconds_since_start();
            outcome.record.cpu = static_cast<double>(cpu) * 1e-9;
            outcome.record.wait = static_cast<double>(std::max<std::int64_t>(
                                      0, run_delay_ns(w.schedstat) - wait_before)) *
                                  1e-9;
            w.state = worker_state::idle;
            job.deliver(std::move(outcome));
        }

        void run_worker(const std::shared_ptr<pool::shared>& s,
                        const std::shared_ptr<pool::worker>& w)
        {
            std::unique_ptr<subinterpreter> interp;
            try
            {
                interp = std::make_unique<subinterpreter>();
            }
            catch (const std::exception& error)
            {
                w->state = worker_state::stopped;
                mark_ready(*w, error.what());
                mark_done(*w);
                return;
            }
            w->thread_id = PyThread_get_thread_ident();
            w->interp = interp->interpreter();
            w->schedstat = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);

            std::string error;
            PyObject* run_chunk_function = bootstrap(*s, *w, error);
            w->state = worker_state::idle;
            mark_ready(*w, error);

            while (run_chunk_function && !w->retiring.load())
            {
                std::optional<chunk_task> task;
                {
                    gil_released waiting;
                    task = s->queue.pop([&] { return w->retiring.load(); });
                }
                if (!task)
                {
                    break;
                }
                if (task->job->cancelled.load())
                {
                    continue;
                }
                run_chunk(*w, run_chunk_function, *task);
            }
            Py_XDECREF(run_chunk_function);

            {
                std::lock_guard lock(w->interrupt_mutex);
                w->interrupts_closed = true;
            }
            w->interrupt_requested.notify_all();
            if (w->interrupter.joinable())
            {
                // It may be waiting for this interpreter's GIL.
                gil_released joining;
                w->interrupter.join();
            }
            PyThreadState_SetAsyncExc(w->thread_id.load(), nullptr);
            PyErr_Clear();
            if (w->schedstat >= 0)
            {
                close(w->schedstat);
                w->schedstat = -1;
            }
            w->interp = nullptr;
            interp.reset();
            w->state = worker_state::stopped;
            mark_done(*w);
        }
    } // namespace

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
