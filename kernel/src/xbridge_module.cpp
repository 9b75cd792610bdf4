#include <pybind11/embed.h>

#include "xparallel/xbridges.hpp"
#include "xparallel/xdebugger.hpp"

PYBIND11_EMBEDDED_MODULE(_xparallel_kernel, m)
{
    m.doc() = "Bridges from the xparallel kernel's Python half to the Jupyter front end.";
    xparallel::bind_output_bridge(m);
    xparallel::bind_comm_bridge(m);
    m.def(
        "cell_file_name", &xparallel::cell_file_name,
        "The file a cell's code is compiled from, as the debugger names it (a hash of the code).");
}
