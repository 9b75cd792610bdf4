#ifndef XPARALLEL_XSERVER_HPP
#define XPARALLEL_XSERVER_HPP

#include <memory>

#include <nlohmann/json.hpp>
#include <xeus/xeus_context.hpp>
#include <xeus/xkernel_configuration.hpp>
#include <xeus/xserver.hpp>

namespace xparallel
{
    namespace nl = nlohmann;

    // The kernel's server: xeus-zmq's (shell on the main thread, control on its own thread), with
    // - every IOPub send under the one publish mutex (xoutput.hpp), so any thread may publish;
    // - a control loop that also ends when asked from any thread (request_kernel_stop), e.g.
    //   when the parent process dies;
    // - history requests kept whole for the history manager (xhistory.hpp): xeus parses them
    //   with its own defaults and fails on the nulls that the protocol allows.
    std::unique_ptr<xeus::xserver> make_server(xeus::xcontext& context,
                                               const xeus::xconfiguration& config,
                                               nl::json::error_handler_t eh);

    // Ends the kernel's loops as a shutdown request does (the running cell must end first).
    void request_kernel_stop();

    // The content of the history request being answered, as the front end sent it.
    const nl::json& current_history_request();
} // namespace xparallel

#endif
