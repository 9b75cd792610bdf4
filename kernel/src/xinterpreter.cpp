#include "xparallel/xinterpreter.hpp"

#include <condition_variable>
#include <mutex>

#include <xeus/xhelper.hpp>

#include "xparallel/xjson_bridge.hpp"
#include "xparallel/xlifetime.hpp"
#include "xparallel/xoutput.hpp"
#include "xparallel/xsignals.hpp"

#ifndef XPARALLEL_VERSION
#define XPARALLEL_VERSION "dev"
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
    nl::json interpreter::kernel_info_request_impl()
    {
        wait_for_python_kernel();
        const std::string version = python_version();
        return {{"status", "ok"},
                {"protocol_version", "5.3"},
                {"implementation", "xparallel"},
                {"implementation_version", XPARALLEL_VERSION},
                {"language_info",
                 {{"name", "python"},
                  {"version", version},
                  {"mimetype", "text/x-python"},
                  {"file_extension", ".py"},
                  {"pygments_lexer", "ipython3"},
                  {"codemirror_mode", {{"name", "ipython"}, {"version", 3}}},
                  {"nbconvert_exporter", "python"}}},
                {"banner", "xparallel " XPARALLEL_VERSION ": Python " + version +
                               " on xeus, with %%parallel on own-GIL sub-interpreters"},
                {"help_links", nl::json::array({{{"text", "xparallel: %%parallel?"},
                                                 {"url", "https://docs.python.org/3/"}}})},
                {"debugger", false}};
    }

    // Runs on the control thread, possibly while a cell runs: no Python here. Interrupting the
    // cell lets the main thread return to its loop, where xeus's stop request ends it.
    nl::json interpreter::shutdown_request_impl(bool restart)
    {
        arm_exit_watchdog();
        interrupt_running_cell();
        return xeus::create_shutdown_reply(restart);
    }

    nl::json interpreter::interrupt_request_impl()
    {
        interrupt_running_cell();
        return nl::json{{"status", "ok"}};
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
