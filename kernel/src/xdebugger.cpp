#include "xparallel/xdebugger.hpp"

#include <atomic>
#include <filesystem>
#include <iostream>
#include <thread>
#include <utility>
#include <vector>

#include <pybind11/pybind11.h>
#include <xeus-zmq/xdap_tcp_client.hpp>
#include <xeus-zmq/xdebugger_base.hpp>
#include <xeus-zmq/xmiddleware.hpp>
#include <xeus/xsystem.hpp>

#include "xparallel/xinterpreter.hpp"
#include "xparallel/xjson_bridge.hpp"

namespace xparallel
{
    namespace py = pybind11;

    namespace
    {
        const std::string& tmp_prefix()
        {
            static const std::string prefix = xeus::get_tmp_prefix("xparallel");
            return prefix;
        }

        constexpr const char* tmp_suffix = ".py";

        // The DAP reply the protocol expects for a request the kernel answers itself.
        nl::json response(const nl::json& request, bool success = true)
        {
            return {{"type", "response"},
                    {"seq", request.value("seq", 0)},
                    {"request_seq", request.value("seq", 0)},
                    {"success", success},
                    {"command", request.value("command", "")}};
        }

        // Talks to debugpy's adapter; its events go out on IOPub as debug_event.
        class debugpy_client final : public xeus::xdap_tcp_client
        {
        public:
            debugpy_client(xeus::xcontext& context, const xeus::xkernel_configuration& config,
                           const std::string& user_name, const std::string& session_id,
                           const event_callback& on_event)
                : xdap_tcp_client(context, config, xeus::get_socket_linger(),
                                  xeus::xdap_tcp_configuration(xeus::dap_tcp_type::client,
                                                               xeus::dap_init_type::parallel,
                                                               user_name, session_id),
                                  on_event)
            {
            }

        private:
            void handle_event(nl::json message) override { forward_event(std::move(message)); }
        };

        class debugger final : public xeus::xdebugger_base
        {
        public:
            debugger(xeus::xcontext& context, const xeus::xkernel_configuration& config,
                     const std::string& user_name, const std::string& session_id);
            ~debugger() override;

            void resume(bool ending);

        private:
            bool start() override;
            void stop() override;
            xeus::xdebugger_info get_debugger_info() const override;
            std::string get_cell_temporary_file(const std::string& code) const override;
            nl::json variables_request_impl(const nl::json& message) override;

            nl::json attach_request(const nl::json& message);
            nl::json configuration_done_request(const nl::json& message);
            nl::json inspect_variables_request(const nl::json& message);
            nl::json rich_inspect_variables_request(const nl::json& message);
            nl::json copy_to_globals_request(const nl::json& message);
            nl::json modules_request(const nl::json& message);

            // The Python half (xparallel_kernel.debugger.Debugger), created on first use.
            py::object& helper();
            // Calls a method of the Python half for `message` (with the GIL). A Python error (the
            // notebook's namespace changing under a running cell, say) becomes a failed DAP
            // response: an exception must not leave a control request.
            nl::json call_helper(const char* method, const nl::json& message,
                                 const std::vector<nl::json>& arguments);
            void end_client_thread();

            std::unique_ptr<debugpy_client> p_client;
            std::thread m_client_thread;
            py::object m_helper;
            std::string m_endpoint;
            int m_seq = 1000000; // requests the kernel sends on its own, apart from the front end's
        };

        std::atomic<debugger*> the_debugger{nullptr};

        const std::string controller_end_point = xeus::get_controller_end_point("debugger");
        const std::string header_end_point = xeus::get_controller_end_point("debugger_header");

        debugger::debugger(xeus::xcontext& context, const xeus::xkernel_configuration& config,
                           const std::string& user_name, const std::string& session_id)
            : xdebugger_base(context),
              p_client(std::make_unique<debugpy_client>(context, config, user_name, session_id,
                                                        get_event_callback()))
        {
            register_request_handler(
                "inspectVariables",
                [this](const nl::json& m) { return inspect_variables_request(m); }, false);
            register_request_handler(
                "richInspectVariables",
                [this](const nl::json& m) { return rich_inspect_variables_request(m); }, false);
            register_request_handler(
                "modules", [this](const nl::json& m) { return modules_request(m); }, false);
            register_request_handler(
                "attach", [this](const nl::json& m) { return attach_request(m); }, true);
            register_request_handler(
                "copyToGlobals", [this](const nl::json& m) { return copy_to_globals_request(m); },
                true);
            register_request_handler(
                "configurationDone",
                [this](const nl::json& m) { return configuration_done_request(m); }, true);
            the_debugger.store(this);
        }

        // At kernel exit, with the front end still attached: debugpy is told the session ends,
        // which lets paused threads go and ends the client's thread.
        debugger::~debugger()
        {
            the_debugger.store(nullptr);
            if (is_started())
            {
                forward_message(
                    {{"type", "request"},
                     {"seq", ++m_seq},
                     {"command", "disconnect"},
                     {"arguments", {{"restart", false}, {"terminateDebuggee", false}}}});
                stop();
            }
            end_client_thread();
            py::gil_scoped_acquire gil;
            if (m_helper)
            {
                try
                {
                    py::module_::import("xparallel_kernel.debugger").attr("end")();
                }
                catch (py::error_already_set& error)
                {
                    std::clog << "xparallel: ending the debugger: " << error.what() << std::endl;
                }
            }
            m_helper = py::object();
            // The cells dumped for this kernel's debugger (ipykernel leaves its own behind).
            std::error_code ignored;
            std::filesystem::remove_all(tmp_prefix(), ignored);
        }

        py::object& debugger::helper()
        {
            if (!m_helper)
            {
                m_helper = py::module_::import("xparallel_kernel.debugger").attr("Debugger")();
            }
            return m_helper;
        }

        nl::json debugger::call_helper(const char* method, const nl::json& message,
                                       const std::vector<nl::json>& arguments)
        {
            py::gil_scoped_acquire gil;
            try
            {
                py::tuple args(arguments.size());
                for (std::size_t i = 0; i < arguments.size(); ++i)
                {
                    args[i] = from_json(arguments[i]);
                }
                return to_json(helper().attr(method)(*args));
            }
            catch (py::error_already_set& error)
            {
                nl::json reply = response(message, false);
                reply["message"] = error.what();
                reply["body"] = nl::json::object();
                return reply;
            }
        }

        void debugger::end_client_thread()
        {
            if (m_client_thread.joinable())
            {
                m_client_thread.join();
            }
        }

        bool debugger::start()
        {
            wait_for_python_kernel();
            try
            {
                py::gil_scoped_acquire gil;
                m_endpoint = helper().attr("start")().cast<std::string>();
            }
            catch (py::error_already_set& error)
            {
                std::clog << "xparallel: the debugger cannot start: " << error.what() << std::endl;
                return false;
            }
            xeus::create_directory(tmp_prefix());
            // The previous session's client thread ended with its `disconnect`.
            end_client_thread();
            bind_sockets(header_end_point, controller_end_point);
            m_client_thread = std::thread(&xeus::xdap_tcp_client::start_debugger, p_client.get(),
                                          m_endpoint, xeus::get_publisher_end_point(),
                                          controller_end_point, header_end_point);
            // Answered once the client is connected to debugpy's adapter.
            send_recv_request("REQ");
            return true;
        }

        void debugger::stop()
        {
            unbind_sockets(header_end_point, controller_end_point);
            if (m_helper)
            {
                call_helper("stop", nl::json::object(), {});
            }
        }

        xeus::xdebugger_info debugger::get_debugger_info() const
        {
            return xeus::xdebugger_info(xeus::get_tmp_hash_seed(), tmp_prefix(), tmp_suffix, true,
                                        {"Python Exceptions"}, true);
        }

        std::string debugger::get_cell_temporary_file(const std::string& code) const
        {
            return cell_file_name(code);
        }

        // debugpy connects to itself: the adapter listens where debugpy.listen said. The kernel's
        // own code (IPython, the kernel, the %%parallel machinery) is left out of stepping and
        // of the call stack, as ipykernel does with its modules.
        nl::json debugger::attach_request(const nl::json& message)
        {
            nl::json arguments = call_helper("attach_arguments", message,
                                             {message.value("arguments", nl::json::object())});
            if (arguments.contains("success")) // a failed response
            {
                return arguments;
            }
            nl::json request = message;
            request["arguments"] = std::move(arguments);
            return forward_message(request);
        }

        // The client already sent debugpy its configurationDone during attach (xeus-zmq's
        // "parallel" initialisation); the front end's own gets its answer here.
        nl::json debugger::configuration_done_request(const nl::json& message)
        {
            return response(message);
        }

        nl::json debugger::inspect_variables_request(const nl::json& message)
        {
            wait_for_python_kernel();
            return call_helper("inspect_variables", message, {message});
        }

        // Paused: the value is formatted in the paused frame (a DAP evaluate there); otherwise in
        // the notebook's namespace.
        nl::json debugger::rich_inspect_variables_request(const nl::json& message)
        {
            wait_for_python_kernel();
            nl::json evaluated = nullptr;
            const nl::json& arguments = message.value("arguments", nl::json::object());
            const std::string name = arguments.value("variableName", "");
            bool identifier = false;
            {
                py::gil_scoped_acquire gil;
                identifier = PyUnicode_IsIdentifier(py::str(name).ptr()) == 1;
            }
            if (identifier && !get_stopped_threads().empty() && arguments.contains("frameId"))
            {
                evaluated = forward_message(
                    {{"type", "request"},
                     {"seq", ++m_seq},
                     {"command", "evaluate"},
                     {"arguments",
                      {{"expression", "get_ipython().display_formatter.format(" + name + ")"},
                       {"frameId", arguments["frameId"]},
                       {"context", "clipboard"}}}});
            }
            return call_helper("rich_inspect_variables", message, {message, evaluated});
        }

        // "Copy to globals" in the variables panel: the paused frame's value assigned in the
        // notebook's namespace, evaluated by debugpy in that frame.
        nl::json debugger::copy_to_globals_request(const nl::json& message)
        {
            const nl::json& arguments = message.value("arguments", nl::json::object());
            const std::string target = arguments.value("dstVariableName", "");
            nl::json request = {{"type", "request"},
                                {"seq", message.value("seq", 0)},
                                {"command", "setExpression"},
                                {"arguments",
                                 {{"expression", "globals()[" + nl::json(target).dump() + "]"},
                                  {"value", arguments.value("srcVariableName", "")},
                                  {"frameId", arguments.value("srcFrameId", 0)}}}};
            nl::json reply = forward_message(request);
            reply["command"] = "copyToGlobals";
            return reply;
        }

        // The kernel sources panel: the modules the kernel has loaded from Python files.
        nl::json debugger::modules_request(const nl::json& message)
        {
            wait_for_python_kernel();
            return call_helper("modules", message, {message});
        }

        nl::json debugger::variables_request_impl(const nl::json& message)
        {
            if (get_stopped_threads().empty())
            {
                return call_helper("variables", message, {message});
            }
            return call_helper("filter_variables", message,
                               {xdebugger_base::variables_request_impl(message)});
        }

        // Without a DAP `continue`: debugpy answers one only once a thread really resumes, and a
        // thread that the interrupt already took out of its pause never does, which would hold
        // the control thread.
        void debugger::resume(bool ending)
        {
            if (!is_started())
            {
                return;
            }
            if (ending)
            {
                // The front end has no use for the dumped cells any more.
                std::error_code ignored;
                std::filesystem::remove_all(tmp_prefix(), ignored);
            }
            py::gil_scoped_acquire gil;
            try
            {
                py::module_::import("xparallel_kernel.debugger").attr("release_paused_threads")();
            }
            catch (py::error_already_set& error)
            {
                std::clog << "xparallel: could not resume the paused threads: " << error.what()
                          << std::endl;
            }
        }
    } // namespace

    std::unique_ptr<xeus::xdebugger> make_debugger(xeus::xcontext& context,
                                                   const xeus::xkernel_configuration& config,
                                                   const std::string& user_name,
                                                   const std::string& session_id,
                                                   const nl::json& /*debugger_config*/)
    {
        return std::make_unique<debugger>(context, config, user_name, session_id);
    }

    bool debugger_available()
    {
        static const bool available = []
        {
            wait_for_python_kernel();
            py::gil_scoped_acquire gil;
            try
            {
                return !py::module_::import("importlib.util")
                            .attr("find_spec")("debugpy")
                            .is_none();
            }
            catch (py::error_already_set&)
            {
                return false;
            }
        }();
        return available;
    }

    std::string cell_file_name(const std::string& code)
    {
        return xeus::get_cell_tmp_file(tmp_prefix(), code, tmp_suffix);
    }

    void resume_paused_threads(bool ending)
    {
        if (debugger* active = the_debugger.load())
        {
            active->resume(ending);
        }
    }
} // namespace xparallel
