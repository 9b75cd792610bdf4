#include "xparallel/xinterpreter.hpp"

#include <condition_variable>
#include <mutex>

#include <xeus/xhelper.hpp>

#include "xparallel/xdebugger.hpp"
#include "xparallel/xjson_bridge.hpp"
#include "xparallel/xlifetime.hpp"
#include "xparallel/xoutput.hpp"
#include "xparallel/xsignals.hpp"

#ifndef XPARALLEL_VERSION
#define XPARALLEL_VERSION "dev"
#endif
#ifndef XPARALLEL_HOMEPAGE
#define XPARALLEL_HOMEPAGE "https://github.com/xparallel/xparallel"
#endif

namespace xparallel
{
    namespace
    {
        std::mutex loading;
        std::condition_variable loaded_signal;
        bool loaded = false;

        // "3.14.0 (main, ...)" -> "3.14.0", what platform.python_version() gives.
        std::string python_version()
        {
            const std::string full = Py_GetVersion();
            return full.substr(0, full.find(' '));
        }

        // "3.14", for the Python documentation's address.
        std::string python_minor_version()
        {
            return std::to_string(PY_MAJOR_VERSION) + "." + std::to_string(PY_MINOR_VERSION);
        }

        // The project's own documentation: its README (the %%parallel options, the backends, the
        // debugger's reach).
        constexpr const char* documentation_url = XPARALLEL_HOMEPAGE "#readme";
    } // namespace

    void wait_for_python_kernel()
    {
        std::unique_lock<std::mutex> lock(loading);
        loaded_signal.wait(lock, [] { return loaded; });
    }

    interpreter::interpreter()
    {
        xeus::register_interpreter(this);
    }

    interpreter::~interpreter()
    {
        if (m_loader.joinable())
        {
            m_loader.join();
        }
        py::gil_scoped_acquire gil;
        m_kernel = py::object();
    }

    // On the main thread, without the GIL. The loader inherits the main thread's signal mask
    // (every async signal held off).
    void interpreter::configure_impl()
    {
        m_loader = std::thread(
            [this]
            {
                {
                    py::gil_scoped_acquire gil;
                    try
                    {
                        m_kernel = py::module_::import("xparallel_kernel").attr("Kernel")();
                    }
                    catch (py::error_already_set& error)
                    {
                        error.restore();
                        PyErr_Print();
                    }
                }
                {
                    std::lock_guard<std::mutex> lock(loading);
                    loaded = true;
                }
                loaded_signal.notify_all();
            });
    }

    nl::json interpreter::call_kernel(const char* method, const py::args& args)
    {
        try
        {
            return to_json(m_kernel.attr(method)(*args));
        }
        catch (py::error_already_set& error)
        {
            // An exception outside the user's code, e.g. an interrupt landing between two lines
            // of the kernel's own Python: report it like any error.
            const std::string ename = py::str(error.type().attr("__name__"));
            const std::string evalue = py::str(error.value());
            publish_execution_error(ename, evalue, {ename + ": " + evalue});
            return xeus::create_error_reply(ename, evalue,
                                            nl::json::array({ename + ": " + evalue}));
        }
    }

    void interpreter::execute_request_impl(send_reply_callback cb, int execution_count,
                                           const std::string& code,
                                           xeus::execute_request_config config,
                                           nl::json user_expressions)
    {
        nl::json reply;
        {
            py::gil_scoped_acquire gil;
            cell_interrupt_window interruptible;
            reply = call_kernel("execute", py::make_tuple(code, execution_count, config.silent,
                                                          config.store_history, config.allow_stdin,
                                                          from_json(user_expressions)));
        }
        // The cell's output, its threads' included, goes out before its reply and idle status.
        flush_streams();
        cb(std::move(reply));
    }

    nl::json interpreter::complete_request_impl(const std::string& code, int cursor_pos)
    {
        py::gil_scoped_acquire gil;
        return call_kernel("complete", py::make_tuple(code, cursor_pos));
    }

    nl::json interpreter::inspect_request_impl(const std::string& code, int cursor_pos,
                                               int detail_level)
    {
        py::gil_scoped_acquire gil;
        return call_kernel("inspect", py::make_tuple(code, cursor_pos, detail_level));
    }

    nl::json interpreter::is_complete_request_impl(const std::string& code)
    {
        py::gil_scoped_acquire gil;
        return call_kernel("is_complete", py::make_tuple(code));
    }

    // Answered once IPython has loaded (it loads on its own thread while the sockets come up):
    // front ends take this reply as "ready", and jupyter console's start-up history request,
    // sent right after it, gives up after a second; answered earlier, that reply arrived late
    // and was taken for the answer to its next request.
    // xeus adds the protocol version it speaks. The debugger is announced as ipykernel 7 does
    // (`debugger` and the "debugger" feature), only where debugpy can be imported.
    nl::json interpreter::kernel_info_request_impl()
    {
        wait_for_python_kernel();
        const std::string version = python_version();
        const bool debugger = debugger_available();
        nl::json reply = xeus::create_info_reply(
            "xparallel", XPARALLEL_VERSION, "python", version, "text/x-python", ".py", "ipython3",
            nl::json{{"name", "ipython"}, {"version", 3}}, "python",
            "xparallel " XPARALLEL_VERSION ": Python " + version +
                " on xeus, with %%parallel on own-GIL sub-interpreters",
            nl::json::array({{{"text", "xparallel: %%parallel"}, {"url", documentation_url}},
                             {{"text", "Python Reference"},
                              {"url", "https://docs.python.org/" + python_minor_version()}},
                             {{"text", "IPython Reference"},
                              {"url", "https://ipython.readthedocs.io/en/stable/"}}}),
            debugger ? std::vector<std::string>{"debugger"} : std::vector<std::string>{});
        reply["debugger"] = debugger;
        return reply;
    }

    // Runs on the control thread, possibly while a cell runs: no Python here (but for letting a
    // cell paused at a breakpoint go, while the debugger is on, so that the interrupt reaches
    // it; the watchdog is armed first). Interrupting the cell lets the main thread return to its
    // loop, where xeus's stop request ends it.
    nl::json interpreter::shutdown_request_impl(bool restart)
    {
        arm_exit_watchdog();
        interrupt_running_cell();
        resume_paused_threads(true);
        return xeus::create_shutdown_reply(restart);
    }

    nl::json interpreter::interrupt_request_impl()
    {
        interrupt_running_cell();
        resume_paused_threads();
        return xeus::create_interrupt_reply();
    }

    nl::json interpreter::history(const nl::json& request)
    {
        py::gil_scoped_acquire gil;
        try
        {
            return to_json(m_kernel.attr("history")(from_json(request)));
        }
        catch (py::error_already_set& error)
        {
            const std::string ename = py::str(error.type().attr("__name__"));
            const std::string evalue = py::str(error.value());
            return xeus::create_error_reply(ename, evalue, nl::json::array());
        }
    }

    void interpreter::set_request_context(xeus::xrequest_context context)
    {
        std::lock_guard<std::mutex> lock(m_context_mutex);
        m_context = std::move(context);
    }

    // A copy per thread: the main thread replaces the context when a request starts while other
    // threads publish with it.
    const xeus::xrequest_context& interpreter::get_request_context() const noexcept
    {
        thread_local xeus::xrequest_context copy;
        std::lock_guard<std::mutex> lock(m_context_mutex);
        copy = m_context;
        return copy;
    }
} // namespace xparallel
