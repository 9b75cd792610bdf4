#ifndef XPARALLEL_XPYTHON_RUNTIME_HPP
#define XPARALLEL_XPYTHON_RUNTIME_HPP

#include <Python.h>

namespace xparallel
{
    // RAII for the embedded CPython: initialises it from a PyConfig, then releases the GIL so that
    // Python threads (and the engine's workers, which need the main interpreter briefly to create
    // their own) run while the kernel waits for messages. Each request takes the GIL back for its
    // duration. Finalises Python, running atexit hooks such as the engine's pool shutdown.
    class python_runtime
    {
    public:
        explicit python_runtime(const char* argv0);
        ~python_runtime();
        python_runtime(const python_runtime&) = delete;
        python_runtime& operator=(const python_runtime&) = delete;

    private:
        PyThreadState* p_main_state = nullptr;
    };
} // namespace xparallel

#endif
