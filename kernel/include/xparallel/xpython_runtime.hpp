#ifndef XPARALLEL_XPYTHON_RUNTIME_HPP
#define XPARALLEL_XPYTHON_RUNTIME_HPP

#include <Python.h>

#include <filesystem>

namespace xparallel
{
    // The Python the kernel runs on: the one beside the kernel executable (a virtual environment's
    // own) first, then the one it was built against. multiprocessing's spawn and forkserver start
    // methods and subprocess calls of sys.executable need a real Python, not the kernel binary.
    std::filesystem::path python_executable(const char* argv0);

    // The kernel's own Python packages, installed beside the executable (CMake's
    // XPARALLEL_PYTHON_SITE_FROM_BIN), whatever prefix the install went to; empty if unknown.
    std::filesystem::path installed_python_packages();

    // RAII for the embedded CPython: initialises it from a PyConfig, then releases the GIL so that
    // Python threads (and the engine's workers, which need the main interpreter briefly to create
    // their own) run while the kernel waits for messages. Each request takes the GIL back for its
    // duration. Finalises Python, running atexit hooks such as the engine's pool shutdown.
    class python_runtime
    {
    public:
        explicit python_runtime(const char* argv0);
        // Inside a running Python (the kernel's extension module, called from `python3`): only
        // releases the GIL, and takes it back at the end; the caller's Python finalises itself.
        struct attach_t
        {
        };
        explicit python_runtime(attach_t);
        ~python_runtime();
        python_runtime(const python_runtime&) = delete;
        python_runtime& operator=(const python_runtime&) = delete;

    private:
        PyThreadState* p_main_state = nullptr;
        bool m_owned = true;
    };
} // namespace xparallel

#endif
