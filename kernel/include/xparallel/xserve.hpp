#ifndef XPARALLEL_XSERVE_HPP
#define XPARALLEL_XSERVE_HPP

#include <string>

namespace xparallel
{
    // The kernel proper: serves the connection file's channels until a shutdown request, then ends
    // the Python work it started. Python must be initialised and the GIL released (python_runtime),
    // the signal policy of xsignals.hpp in place.
    void serve(const std::string& connection_file);

    // Sets up the kernel's signal handling; call before any thread of the kernel exists.
    void prepare_kernel_process();
} // namespace xparallel

#endif
