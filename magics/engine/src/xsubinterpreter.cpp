#include "xparallel/xsubinterpreter.hpp"

#include <stdexcept>
#include <string>

namespace xparallel
{
    namespace
    {
        // Returns the new interpreter's thread state, detached; the calling thread holds nothing.
        PyThreadState* create_own_gil_interpreter()
        {
            foreign_thread_state main_state(PyInterpreterState_Main());
            // The isolated preset: own GIL and allocator, extension modules checked for
            // multi-interpreter support (NumPy refuses), no fork, no exec, no daemon threads.
            PyInterpreterConfig config{};
            config.use_main_obmalloc = 0;
            config.allow_fork = 0;
            config.allow_exec = 0;
            config.allow_threads = 1;
            config.allow_daemon_threads = 0;
            config.check_multi_interp_extensions = 1;
            config.gil = PyInterpreterConfig_OWN_GIL;

            PyThreadState* main_tstate = PyThreadState_Get();
            PyThreadState* created = nullptr;
            const PyStatus status = Py_NewInterpreterFromConfig(&created, &config);
            if (PyStatus_Exception(status))
            {
                throw std::runtime_error(std::string("cannot create a sub-interpreter: ") +
                                         (status.err_msg ? status.err_msg : "unknown error"));
            }
            // Back on the main thread state, so that main_state can drop it.
            PyThreadState_Swap(main_tstate);
            return created;
        }
    } // namespace

    subinterpreter::subinterpreter() : p_state(create_own_gil_interpreter())
    {
        PyEval_RestoreThread(p_state);
    }

    subinterpreter::~subinterpreter()
    {
        Py_EndInterpreter(p_state);
    }

    foreign_thread_state::foreign_thread_state(PyInterpreterState* interp)
        : p_state(PyThreadState_New(interp))
    {
        PyEval_RestoreThread(p_state);
    }

    foreign_thread_state::~foreign_thread_state()
    {
        PyThreadState_Clear(p_state);
        PyThreadState_DeleteCurrent();
    }

    bool raise_keyboard_interrupt(PyInterpreterState* interp, unsigned long thread_id,
                                  const std::function<bool()>& still_wanted)
    {
        foreign_thread_state holding(interp);
        if (!still_wanted())
        {
            return false;
        }
        return PyThreadState_SetAsyncExc(thread_id, PyExc_KeyboardInterrupt) > 0;
    }
} // namespace xparallel
