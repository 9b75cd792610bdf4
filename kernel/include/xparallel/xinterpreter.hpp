#ifndef XPARALLEL_XINTERPRETER_HPP
#define XPARALLEL_XINTERPRETER_HPP

#include <string>

#include <pybind11/pybind11.h>
#include <xeus/xinterpreter.hpp>

namespace xparallel
{
    namespace py = pybind11;

    // The xeus interpreter of the xparallel kernel. Shell requests run on the main thread with the
    // GIL and IPython's shell (xparallel_kernel.Kernel); interrupt and shutdown arrive on the
    // control thread and only ever signal the main thread.
    class interpreter final : public xeus::xinterpreter
    {
    public:
        interpreter();
        ~interpreter() override;

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

        // Calls a method of the Python kernel and returns its JSON answer; a Python exception
        // becomes an error reply instead of escaping into xeus.
        nl::json call_kernel(const char* method, const py::args& args);

        py::object m_kernel;
    };
} // namespace xparallel

#endif
