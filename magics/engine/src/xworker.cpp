#include "xworker.hpp"

#include <algorithm>
#include <optional>

#include "xparallel/xsubinterpreter.hpp"
#include "xplatform.hpp"

namespace xparallel
{
    namespace detail
    {
        void run_chunk(pool::worker& w, const core_wait_clock& waits, PyObject* run_chunk_function,
                       chunk_task& task)
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
            const std::optional<std::int64_t> wait_before = waits.read();

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
            // Where waits are not measured the row says 0: the run's usage says "not measured".
            const std::optional<std::int64_t> wait_after = waits.read();
            outcome.record.wait =
                wait_before && wait_after
                    ? static_cast<double>(std::max<std::int64_t>(0, *wait_after - *wait_before)) *
                          1e-9
                    : 0.0;
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
            const core_wait_clock waits; // this thread's: made here, on it

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
                run_chunk(*w, waits, run_chunk_function, *task);
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
            w->interp = nullptr;
            interp.reset();
            w->state = worker_state::stopped;
            mark_done(*w);
        }
    } // namespace detail
} // namespace xparallel
