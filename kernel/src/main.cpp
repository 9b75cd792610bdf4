#include <iostream>
#include <string>
#include <vector>

#include <xeus/xhelper.hpp>

#include "xparallel/xlaunch.hpp"
#include "xparallel/xpython_runtime.hpp"
#include "xparallel/xserve.hpp"
#include "xparallel/xsignals.hpp"

#ifndef XPARALLEL_VERSION
#define XPARALLEL_VERSION "dev"
#endif

int main(int argc, char* argv[])
{
    xparallel::reset_inherited_signal_dispositions();
    // xeus's extract_filename takes "-f FILE" out of argv; Python gets the arguments as given.
    std::vector<char*> arguments(argv, argv + argc);

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

    xparallel::run_in_python_when_installed(static_cast<int>(arguments.size()), arguments.data());
    // Before Python starts and before any thread exists, so that every thread inherits the mask.
    xparallel::prepare_kernel_process();
    xparallel::python_runtime python(argv[0]);
    xparallel::serve(connection_file);
    return 0;
}
