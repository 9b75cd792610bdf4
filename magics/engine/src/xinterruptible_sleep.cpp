#include "xworker.hpp"

#include <algorithm>
#include <cmath>

namespace xparallel
{
    namespace detail
    {
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
    } // namespace detail
} // namespace xparallel
