#include "xparallel/xpython_runtime.hpp"

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace xparallel
{
    namespace
    {
        void check(PyStatus status, PyConfig& config)
        {
            if (PyStatus_Exception(status))
            {
                PyConfig_Clear(&config);
                Py_ExitStatusException(status);
            }
        }

        std::filesystem::path python_beside(const PyConfig& config)
        {
            namespace fs = std::filesystem;
            const fs::path prefix = config.base_exec_prefix ? config.base_exec_prefix : L"/usr";
            const std::wstring version =
                std::to_wstring(PY_MAJOR_VERSION) + L"." + std::to_wstring(PY_MINOR_VERSION);
            std::vector<fs::path> candidates{prefix / "bin" / (L"python" + version),
                                             prefix / "bin" / L"python3"};
            std::error_code error;
            const fs::path kernel = fs::read_symlink("/proc/self/exe", error);
            // In a virtual environment the environment's own python comes first: initialising
            // with it is what makes Python find the environment (pyvenv.cfg, its site-packages).
            if (!error)
            {
                candidates.insert(candidates.begin(), kernel.parent_path() / (L"python" + version));
            }
            for (const fs::path& candidate : candidates)
            {
                if (fs::exists(candidate))
                {
                    return candidate;
                }
            }
            return prefix / "bin" / L"python3";
        }
    } // namespace

    std::filesystem::path installed_python_packages()
    {
        namespace fs = std::filesystem;
        std::error_code error;
        const fs::path exe = fs::read_symlink("/proc/self/exe", error);
        if (error)
        {
            return {};
        }
        return fs::weakly_canonical(exe.parent_path() / XPARALLEL_PYTHON_SITE_FROM_BIN, error);
    }

    std::filesystem::path python_executable(const char* argv0)
    {
        PyConfig config;
        PyConfig_InitPythonConfig(&config);
        config.parse_argv = 0;
        char* argv[] = {const_cast<char*>(argv0)};
        std::filesystem::path found = "python3";
        if (!PyStatus_Exception(PyConfig_SetBytesArgv(&config, 1, argv)) &&
            !PyStatus_Exception(PyConfig_Read(&config)))
        {
            found = python_beside(config);
        }
        PyConfig_Clear(&config);
        return found;
    }

    namespace
    {
        // Python computes its search path during initialisation; the kernel's packages go first.
        void prepend_to_sys_path(const std::filesystem::path& directory)
        {
            if (directory.empty() || !std::filesystem::exists(directory))
            {
                return;
            }
            PyObject* path = PySys_GetObject("path"); // borrowed
            PyObject* entry = PyUnicode_FromString(directory.c_str());
            if (path && entry && PySequence_Contains(path, entry) == 0)
            {
                PyList_Insert(path, 0, entry);
            }
            Py_XDECREF(entry);
            PyErr_Clear();
        }
    } // namespace

    python_runtime::python_runtime(const char* argv0)
    {
        PyConfig config;
        PyConfig_InitPythonConfig(&config);
        config.parse_argv = 0;
        config.install_signal_handlers = 1;
        char* argv[] = {const_cast<char*>(argv0)};
        check(PyConfig_SetBytesArgv(&config, 1, argv), config);
        check(PyConfig_Read(&config), config);
        const std::wstring executable = python_beside(config).wstring();
        check(PyConfig_SetString(&config, &config.executable, executable.c_str()), config);
        check(Py_InitializeFromConfig(&config), config);
        PyConfig_Clear(&config);
        prepend_to_sys_path(installed_python_packages());
        p_main_state = PyEval_SaveThread();
    }

    python_runtime::python_runtime(attach_t) : p_main_state(PyEval_SaveThread()), m_owned(false)
    {
    }

    python_runtime::~python_runtime()
    {
        PyEval_RestoreThread(p_main_state);
        if (m_owned)
        {
            Py_FinalizeEx();
        }
    }
} // namespace xparallel
