#include "xworker.hpp"


namespace xparallel
{
    namespace detail
    {
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
    } // namespace detail
} // namespace xparallel
