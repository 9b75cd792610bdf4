#include "xparallel/xserve.hpp"

#include <memory>

#include <xeus-zmq/xzmq_context.hpp>
#include <xeus/xhelper.hpp>
#include <xeus/xkernel.hpp>
#include <xeus/xkernel_configuration.hpp>

#include "xparallel/xbridges.hpp"
#include "xparallel/xdebugger.hpp"
#include "xparallel/xhistory.hpp"
#include "xparallel/xinterpreter.hpp"
#include "xparallel/xlifetime.hpp"
#include "xparallel/xoutput.hpp"
#include "xparallel/xserver.hpp"
#include "xparallel/xsignals.hpp"

namespace xparallel
{
    void prepare_kernel_process()
    {
        xparallel::block_async_signals_in_all_threads();
        xparallel::handle_termination_requests();
    }

    void serve(const std::string& connection_file)
    {
        xeus::xconfiguration config = xeus::load_configuration(connection_file);
        // Shell on the main thread (where Python's signals land), control on its own thread, so
        // that interrupt and shutdown requests are seen while a cell runs.
        xeus::xkernel kernel(config, xeus::get_user_name(), xeus::make_zmq_context(),
                             std::make_unique<xparallel::interpreter>(), xparallel::make_server,
                             xparallel::make_history_manager(), nullptr, xparallel::make_debugger);
        xparallel::watch_parent_process();
        kernel.start();
        xparallel::close_output();
        xparallel::detach_comms_from_kernel();
        xparallel::end_python_work();
    }
} // namespace xparallel
