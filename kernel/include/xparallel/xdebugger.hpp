#ifndef XPARALLEL_XDEBUGGER_HPP
#define XPARALLEL_XDEBUGGER_HPP

#include <memory>
#include <string>

#include <nlohmann/json.hpp>
#include <xeus/xdebugger.hpp>
#include <xeus/xeus_context.hpp>
#include <xeus/xkernel_configuration.hpp>

namespace xparallel
{
    namespace nl = nlohmann;

    // The Jupyter debug protocol (debug_request / debug_reply on the control channel, debug_event
    // on IOPub), backed by debugpy running inside the kernel. xeus-zmq's xdebugger_base answers
    // what it can alone (debugInfo, dumpCell, source, the breakpoint list, the stopped threads);
    // the rest goes to debugpy's adapter over TCP through xeus-zmq's xdap_tcp_client, on a thread
    // of its own. debugpy is imported when the first `initialize` arrives, never at start-up.
    // Requests arrive on the control thread, also while a cell runs or is paused at a breakpoint
    // (the main thread then waits inside debugpy with the GIL released).
    std::unique_ptr<xeus::xdebugger> make_debugger(xeus::xcontext& context,
                                                   const xeus::xkernel_configuration& config,
                                                   const std::string& user_name,
                                                   const std::string& session_id,
                                                   const nl::json& debugger_config);

    // Whether debugpy can be imported (found without importing it). Requires the Python kernel
    // to be loaded; the answer is computed once.
    bool debugger_available();

    // The file a cell's code is compiled from, named from a hash of the code as the JupyterLab
    // debugger computes it (debugInfo's hashMethod, hashSeed, tmpFilePrefix, tmpFileSuffix).
    std::string cell_file_name(const std::string& code);

    // Lets the threads paused at a breakpoint run on, so that an interrupt or a shutdown reaches
    // the cell (call it after signalling the cell). From the control thread; does nothing while
    // the debugger is off. `ending`: for a shutdown (the cells dumped for the front end are
    // removed then, in case the kernel's end is cut short).
    void resume_paused_threads(bool ending = false);
} // namespace xparallel

#endif
