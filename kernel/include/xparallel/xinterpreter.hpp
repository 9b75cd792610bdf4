#ifndef XPARALLEL_XINTERPRETER_HPP
#define XPARALLEL_XINTERPRETER_HPP

#include <mutex>
#include <string>
#include <thread>

#include <pybind11/pybind11.h>
#include <xeus/xinterpreter.hpp>
#include <xeus/xrequest_context.hpp>

namespace xparallel
{
    namespace py = pybind11;

    // The xeus interpreter of the xparallel kernel. Shell requests run on the main thread with the
    // GIL and IPython's shell (xparallel_kernel.Kernel); interrupt and shutdown arrive on the
    // control thread and only ever signal the main thread. Output may be published from any
    // thread (xoutput.hpp): the current request, whose header output carries as its parent, is
    // read under a mutex.
    // Startup: IPython, the bridges and the magic are loaded on a thread of their own while the
    // kernel's sockets come up, so that the kernel answers kernel_info (from C++) as soon as it
    // listens; every other request waits until they are loaded (wait_for_python_kernel).
    void wait_for_python_kernel();

    class interpreter final : public xeus::xinterpreter
    {
    public:
        interpreter();
        ~interpreter() override;

        // Answers a history request (its content as the front end sent it).
        nl::json history(const nl::json& request);

    private:
        void configure_impl() override;
        void execute_request_impl(send_reply_callback cb, int execution_count,
                                  const std::string& code, xeus::execute_request_config config,
                                  nl::json user_expressions) override;
        nl::json complete_request_impl(const std::string& code, int cursor_pos) override;
        nl::json inspect_request_impl(const std::string& code, int cursor_pos,
                                      int detail_level) override;
        nl::json is_complete_request_impl(const std::string& code) override;
        nl::json kernel_info_request_impl() override;
        nl::json shutdown_request_impl(bool restart) override;
        nl::json interrupt_request_impl() override;

        void set_request_context(xeus::xrequest_context context) override;
        const xeus::xrequest_context& get_request_context() const noexcept override;

        // Calls a method of the Python kernel and returns its JSON answer; a Python exception
        // becomes an error reply instead of escaping into xeus.
        nl::json call_kernel(const char* method, const py::args& args);

        py::object m_kernel;
        std::thread m_loader;
        mutable std::mutex m_context_mutex;
        xeus::xrequest_context m_context;
    };
} // namespace xparallel

#endif
