#include "xparallel/xpool.hpp"

#include <csignal>
#include <ctime>
#include <pthread.h>

#include <stdexcept>
#include <utility>

#include "xparallel/xsubinterpreter.hpp"

namespace xparallel
{
    namespace
    {
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
    } // namespace

    struct pool::worker
    {
        std::size_t index = 0;
        std::thread thread;
        std::atomic<worker_state> state{worker_state::starting};
        std::atomic<PyInterpreterState*> interp{nullptr};
        std::atomic<unsigned long> thread_id{0};
        std::atomic<std::uint64_t> current_job{0};
        std::atomic<bool> in_chunk{false};

        // Threads raising KeyboardInterrupt in this worker; joined before its interpreter ends.
        std::mutex helpers_mutex;
        std::vector<std::thread> helpers;
        bool accepting_helpers = true;
    };

    pool::pool(std::size_t workers, std::vector<std::string> sys_path)
        : m_size(workers == 0 ? 1 : workers), m_sys_path(std::move(sys_path))
    {
    }

    pool::~pool()
    {
        shutdown();
    }

    void pool::start()
    {
        if (m_running)
        {
            return;
        }
        m_queue = std::make_unique<work_queue<chunk_task>>();
        m_workers.clear();
        {
            std::lock_guard lock(m_start_mutex);
            m_ready = 0;
            m_start_error.clear();
        }
        for (std::size_t i = 0; i < m_size; ++i)
        {
            auto w = std::make_unique<worker>();
            w->index = i;
            m_workers.push_back(std::move(w));
        }
        for (auto& w : m_workers)
        {
            worker* target = w.get();
            w->thread = thread_without_sigint([this, target] { run_worker(*target); });
        }
        m_running = true;
        std::string error;
        {
            std::unique_lock lock(m_start_mutex);
            m_started.wait(lock, [this] { return m_ready == m_size; });
            error = m_start_error;
        }
        if (!error.empty())
        {
            shutdown();
            throw std::runtime_error(error);
        }
    }

    void pool::shutdown()
    {
        if (!m_running)
        {
            return;
        }
        m_queue->remove_if([](const chunk_task&) { return true; });
        for (auto& w : m_workers)
        {
            if (w->in_chunk.load())
            {
                interrupt(*w, w->current_job.load());
            }
        }
        m_queue->close();
        for (auto& w : m_workers)
        {
            if (w->thread.joinable())
            {
                w->thread.join();
            }
        }
        m_workers.clear();
        m_running = false;
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
        m_queue->push(std::move(task));
    }

    std::size_t pool::queued() const
    {
        return m_queue ? m_queue->size() : 0;
    }

    void pool::cancel(const std::shared_ptr<job_state>& job)
    {
        job->cancelled.store(true);
        if (!m_running)
        {
            return;
        }
        m_queue->remove_if([&](const chunk_task& task) { return task.job == job; });
        for (auto& w : m_workers)
        {
            if (w->current_job.load() == job->id && w->in_chunk.load())
            {
                interrupt(*w, job->id);
            }
        }
    }

    std::vector<worker_event> pool::drain_events()
    {
        std::lock_guard lock(m_events_mutex);
        return std::exchange(m_events, {});
    }

    // A helper thread waits for the worker's GIL (the worker yields it between bytecodes every few
    // milliseconds, or in a blocking call) and raises KeyboardInterrupt there, so that the caller
    // never blocks on a worker.
    void pool::interrupt(worker& w, std::uint64_t job_id)
    {
        std::lock_guard lock(w.helpers_mutex);
        if (!w.accepting_helpers || !w.interp.load())
        {
            return;
        }
        w.helpers.push_back(thread_without_sigint(
            [&w, job_id]
            {
                raise_keyboard_interrupt(
                    w.interp.load(), w.thread_id.load(),
                    [&] { return w.in_chunk.load() && w.current_job.load() == job_id; });
            }));
    }

    PyObject* pool::emit(PyObject* self, PyObject* const* args, Py_ssize_t nargs)
    {
        if (nargs != 2 || !PyLong_Check(args[0]) || !PyUnicode_Check(args[1]))
        {
            PyErr_SetString(PyExc_TypeError, "emit(stream: int, text: str)");
            return nullptr;
        }
        auto* w = static_cast<worker*>(PyLong_AsVoidPtr(PyTuple_GET_ITEM(self, 0)));
        auto* owner = static_cast<pool*>(PyLong_AsVoidPtr(PyTuple_GET_ITEM(self, 1)));
        Py_ssize_t size = 0;
        const char* text = PyUnicode_AsUTF8AndSize(args[1], &size);
        if (!text)
        {
            return nullptr;
        }
        {
            std::lock_guard lock(owner->m_events_mutex);
            owner->m_events.push_back({static_cast<int>(w->index),
                                       static_cast<int>(PyLong_AsLong(args[0])),
                                       std::string(text, static_cast<std::size_t>(size))});
        }
        Py_RETURN_NONE;
    }

    void pool::run_worker(worker& w)
    {
        auto report_ready = [this](const std::string& error)
        {
            {
                std::lock_guard lock(m_start_mutex);
                if (!error.empty() && m_start_error.empty())
                {
                    m_start_error = error;
                }
                ++m_ready;
            }
            m_started.notify_all();
        };

        std::unique_ptr<subinterpreter> interp;
        try
        {
            interp = std::make_unique<subinterpreter>();
        }
        catch (const std::exception& error)
        {
            w.state = worker_state::stopped;
            report_ready(error.what());
            return;
        }
        w.thread_id = PyThread_get_thread_ident();
        w.interp = interp->interpreter();

        // Bootstrap: the notebook's path, then xparallel._worker with a way to send output home.
        PyObject* run_chunk_function = nullptr;
        std::string bootstrap_error;
        {
            PyObject* path = PySys_GetObject("path"); // borrowed
            if (path && PyList_Check(path))
            {
                PyList_SetSlice(path, 0, PyList_GET_SIZE(path), nullptr);
                for (const auto& entry : m_sys_path)
                {
                    PyObject* item = PyUnicode_FromStringAndSize(entry.data(), entry.size());
                    if (item)
                    {
                        PyList_Append(path, item);
                        Py_DECREF(item);
                    }
                }
            }
            PyObject* module = PyImport_ImportModule("xparallel._worker");
            PyObject* self =
                Py_BuildValue("(NN)", PyLong_FromVoidPtr(&w), PyLong_FromVoidPtr(this));
            static PyMethodDef emit_definition = {
                "emit", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&pool::emit)),
                METH_FASTCALL, "emit(stream, text): hand worker output to the notebook"};
            PyObject* emit_function = self ? PyCFunction_New(&emit_definition, self) : nullptr;
            PyObject* started =
                module && emit_function
                    ? PyObject_CallMethod(module, "start", "nO", w.index + 1, emit_function)
                    : nullptr;
            if (started)
            {
                run_chunk_function = PyObject_GetAttrString(module, "run_chunk");
            }
            if (!run_chunk_function)
            {
                bootstrap_error =
                    "a worker could not start xparallel._worker: " + take_python_error();
            }
            Py_XDECREF(started);
            Py_XDECREF(emit_function);
            Py_XDECREF(self);
            Py_XDECREF(module);
        }

        w.state = worker_state::idle;
        report_ready(bootstrap_error);

        while (run_chunk_function)
        {
            std::optional<chunk_task> task;
            {
                gil_released waiting;
                task = m_queue->pop();
            }
            if (!task)
            {
                break;
            }
            if (task->job->cancelled.load())
            {
                continue;
            }
            run_chunk(w, run_chunk_function, *task);
        }
        Py_XDECREF(run_chunk_function);

        {
            std::lock_guard lock(w.helpers_mutex);
            w.accepting_helpers = false;
        }
        {
            // Helpers may be waiting for this interpreter's GIL.
            gil_released joining;
            for (auto& helper : w.helpers)
            {
                helper.join();
            }
        }
        PyThreadState_SetAsyncExc(w.thread_id.load(), nullptr);
        PyErr_Clear();
        w.interp = nullptr;
        interp.reset();
        w.state = worker_state::stopped;
    }

    void pool::run_chunk(worker& w, PyObject* run_chunk_function, chunk_task& task)
    {
        job_state& job = *task.job;
        w.current_job = job.id;
        w.state = worker_state::busy;

        chunk_outcome outcome;
        outcome.record = {task.sequence,
                          task.first_index,
                          task.count,
                          static_cast<int>(w.index),
                          job.seconds_since_start(),
                          0.0,
                          0.0};
        const std::int64_t cpu_before = thread_cpu_ns();

        PyObject* factory =
            PyMemoryView_FromMemory(const_cast<char*>(job.factory.data()),
                                    static_cast<Py_ssize_t>(job.factory.size()), PyBUF_READ);
        PyObject* sys_path =
            PyMemoryView_FromMemory(const_cast<char*>(job.sys_path.data()),
                                    static_cast<Py_ssize_t>(job.sys_path.size()), PyBUF_READ);
        PyObject* items = PyMemoryView_FromMemory(
            task.payload.data(), static_cast<Py_ssize_t>(task.payload.size()), PyBUF_READ);
        w.in_chunk = true;
        PyObject* answer =
            (factory && sys_path && items)
                ? PyObject_CallFunction(run_chunk_function, "KOOOnp",
                                        static_cast<unsigned long long>(job.id), factory, sys_path,
                                        items, static_cast<Py_ssize_t>(task.first_index),
                                        job.stop_on_error ? 1 : 0)
                : nullptr;
        w.in_chunk = false;
        // An interrupt that arrived too late to land in the chunk must not hit the next one.
        PyThreadState_SetAsyncExc(w.thread_id.load(), nullptr);

        PyObject* payload = nullptr;
        Py_ssize_t errors = 0;
        if (answer && PyArg_ParseTuple(answer, "Sn", &payload, &errors))
        {
            outcome.payload.assign(PyBytes_AS_STRING(payload),
                                   static_cast<std::size_t>(PyBytes_GET_SIZE(payload)));
            outcome.errors = static_cast<std::size_t>(errors);
        }
        else
        {
            outcome.fatal = take_python_error();
            outcome.errors = task.count;
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
        job.items_done[w.index] += task.count - std::min(task.count, outcome.errors);
        job.cpu_ns[w.index] += cpu;
        job.busy_ns[w.index] +=
            static_cast<std::int64_t>((outcome.record.end - outcome.record.start) * 1e9);
        if (outcome.errors > 0)
        {
            job.failed[w.index] = true;
        }
        w.state = worker_state::idle;
        job.deliver(std::move(outcome));
    }
} // namespace xparallel
