#include "xparallel/xbridges.hpp"
#include "xparallel/xdebugger.hpp"

namespace xparallel
{
    void define_bridge_module(py::module_& m)
    {
        m.doc() = "Bridges from the xparallel kernel's Python half to the Jupyter front end.";
        bind_output_bridge(m);
        bind_comm_bridge(m);
        m.def("cell_file_name", &cell_file_name,
              "The file a cell's code is compiled from, as the debugger names it (a hash of the "
              "code).");
    }
} // namespace xparallel
