#include <iostream>
#include <memory>
#include <string>

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
#include "xparallel/xpython_runtime.hpp"
#include "xparallel/xserver.hpp"
#include "xparallel/xsignals.hpp"

#ifndef XPARALLEL_VERSION
#define XPARALLEL_VERSION "dev"
#endif

int main(int argc, char* argv[])
{
    // Before Python starts and before any thread exists, so that every thread inherits the mask.
    xparallel::reset_inherited_signal_dispositions();
    xparallel::block_async_signals_in_all_threads();
    xparallel::handle_termination_requests();

    if (xeus::should_print_version(argc, argv))
    {
        std::cout << "xparallel " << XPARALLEL_VERSION << std::endl;
        return 0;
    }
    const std::string connection_file = xeus::extract_filename(argc, argv);
    if (connection_file.empty())
    {
        std::cerr << "usage: xparallel -f CONNECTION_FILE\n"
                     "  (Jupyter starts the kernel this way; see `jupyter kernelspec list`)\n";
        return 2;
    }

    xparallel::python_runtime python(argv[0]);
    xeus::xconfiguration config = xeus::load_configuration(connection_file);
    // Shell on the main thread (where Python's signals land), control on its own thread, so that
    // interrupt and shutdown requests are seen while a cell runs.
    xeus::xkernel kernel(config, xeus::get_user_name(), xeus::make_zmq_context(),
                         std::make_unique<xparallel::interpreter>(), xparallel::make_server,
                         xparallel::make_history_manager(), nullptr, xparallel::make_debugger);
    xparallel::watch_parent_process();
    kernel.start();
    xparallel::close_output();
    xparallel::detach_comms_from_kernel();
    xparallel::end_python_work();
    return 0;
}
