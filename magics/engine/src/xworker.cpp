#include "xworker.hpp"

#include <algorithm>
#include <optional>
#include <string_view>
#include <vector>

#include "xparallel/xsubinterpreter.hpp"
#include "xplatform.hpp"

namespace xparallel
{
    namespace detail
    {
        // A chunk's answer as run_chunk returns it: the pickle, and the buffers pickled out of
        // band (large results), held as raw memory of the worker's interpreter while the main
        // interpreter reads them. Made and released holding the worker's GIL.
        class pickled_answer
        {
        public:
            // false: `answer` is neither bytes nor (bytes, [buffer, ...]).
            bool take(PyObject* answer)
            {
                PyObject* payload = answer;
                PyObject* buffers = nullptr;
                if (PyTuple_Check(answer) && PyTuple_GET_SIZE(answer) == 2)
                {
                    payload = PyTuple_GET_ITEM(answer, 0);
                    buffers = PyTuple_GET_ITEM(answer, 1);
                }
                if (!PyBytes_Check(payload) || (buffers && !PyList_Check(buffers)))
                {
                    return false;
                }
                m_payload = {PyBytes_AS_STRING(payload),
                             static_cast<std::size_t>(PyBytes_GET_SIZE(payload))};
                for (Py_ssize_t i = 0; buffers && i < PyList_GET_SIZE(buffers); ++i)
                {
                    Py_buffer view;
                    if (PyObject_GetBuffer(PyList_GET_ITEM(buffers, i), &view, PyBUF_SIMPLE) < 0)
                    {
                        PyErr_Clear();
                        return false;
                    }
                    m_views.push_back(view);
                    m_size += static_cast<std::size_t>(view.len);
                }
                m_size += m_payload.size();
                return true;
            }

            // Bytes in transit, out-of-band buffers included: what the notebook will hold.
            std::size_t size() const { return m_size; }

            pickled_answer() = default;
            pickled_answer(const pickled_answer&) = delete;
            pickled_answer& operator=(const pickled_answer&) = delete;
            ~pickled_answer() { release(); }

            // Before the answer itself goes: the views hold its buffers.
            void release()
            {
                for (Py_buffer& view : m_views)
                {
                    PyBuffer_Release(&view);
                }
                m_views.clear();
                m_payload = {};
                m_size = 0;
            }

            std::string_view payload() const { return m_payload; }

            // Called in the main interpreter: views of the out-of-band buffers, or None.
            PyObject* buffer_views() const
            {
                if (m_views.empty())
                {
                    Py_RETURN_NONE;
                }
                PyObject* list = PyList_New(0);
                for (const Py_buffer& view : m_views)
                {
                    PyObject* item = list ? PyMemoryView_FromMemory(static_cast<char*>(view.buf),
                                                                    view.len, PyBUF_READ)
                                          : nullptr;
                    if (!item || PyList_Append(list, item) < 0)
                    {
                        Py_XDECREF(item);
                        Py_XDECREF(list);
                        return nullptr;
                    }
                    Py_DECREF(item);
                }
                return list;
            }

        private:
            std::string_view m_payload;
            std::vector<Py_buffer> m_views;
            std::size_t m_size = 0;
        };

        // Nothing may keep a view of the worker's memory once the main interpreter is done.
        void release_view(PyObject* view)
        {
            PyObject* done = PyObject_CallMethod(view, "release", nullptr);
            if (!done)
            {
                PyErr_Clear();
            }
            Py_XDECREF(done);
        }

        // The worker unpickles its chunk's answer into the main interpreter itself, from its own
        // memory: the results are made once, in parallel on the workers, and the notebook's
        // thread only takes them (as InterpreterPoolExecutor's threads do). The worker's GIL is
        // released meanwhile; the main one is taken for the unpickling and the delivery only.
        void deliver_in_main(job_state& job, chunk_outcome outcome, const pickled_answer& pickled)
        {
            outcome.payload_bytes = pickled.size();
            // Only this thread runs in the worker's interpreter: its memory stays as it is.
            gil_released worker_side;
            foreign_thread_state main_side(PyInterpreterState_Main());
            PyObject* view = PyMemoryView_FromMemory(const_cast<char*>(pickled.payload().data()),
                                                     static_cast<Py_ssize_t>(pickled.payload().size()),
                                                     PyBUF_READ);
            PyObject* buffers = view ? pickled.buffer_views() : nullptr;
            PyObject* pickle = buffers ? PyImport_ImportModule("pickle") : nullptr;
            PyObject* loads = pickle ? PyObject_GetAttrString(pickle, "loads") : nullptr;
            PyObject* args = loads ? PyTuple_Pack(1, view) : nullptr;
            PyObject* kwargs = args ? Py_BuildValue("{s:O}", "buffers", buffers) : nullptr;
            PyObject* answer = kwargs ? PyObject_Call(loads, args, kwargs) : nullptr;
            if (answer)
            {
                outcome.answer = main_object(answer);
            }
            else
            {
                outcome.transfer_error = take_python_error();
            }
            Py_XDECREF(kwargs);
            Py_XDECREF(args);
            Py_XDECREF(loads);
            Py_XDECREF(pickle);
            for (Py_ssize_t i = 0; buffers && PyList_Check(buffers) && i < PyList_GET_SIZE(buffers);
                 ++i)
            {
                release_view(PyList_GET_ITEM(buffers, i));
            }
            Py_XDECREF(buffers);
            if (view)
            {
                release_view(view);
                Py_DECREF(view);
            }
            job.deliver(std::move(outcome));
        }

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

            pickled_answer pickled;
            const bool answered = answer && pickled.take(answer);
            if (!answered)
            {
                outcome.fatal =
                    answer ? "run_chunk did not return its pickled answer" : take_python_error();
            }
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
            if (answered && !Py_IsFinalizing())
            {
                deliver_in_main(job, std::move(outcome), pickled);
            }
            else
            {
                if (answered)
                {
                    outcome.fatal = "the notebook's interpreter is shutting down";
                }
                job.deliver(std::move(outcome));
            }
            pickled.release();
            Py_XDECREF(answer);
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
