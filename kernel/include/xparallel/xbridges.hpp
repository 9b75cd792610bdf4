#ifndef XPARALLEL_XBRIDGES_HPP
#define XPARALLEL_XBRIDGES_HPP

#include <pybind11/pybind11.h>

namespace xparallel
{
    namespace py = pybind11;

    // The module `_xparallel_kernel` through which the kernel's Python half reaches the
    // front end. Any thread may call it: every message goes through the one publishing path of
    // xoutput.hpp (input requests excepted: main thread only, as cells run there).
    void bind_output_bridge(py::module_& m); // streams, display data, results, errors, input
    void bind_comm_bridge(py::module_& m);   // comms, for the `comm` package and ipywidgets
    // The whole module: embedded in the executable, or the extension module run from python3.
    void define_bridge_module(py::module_& m);

    // Call once the kernel has stopped and before it is destroyed: comms that Python still holds
    // then forget xeus's comm manager instead of unregistering from it after it is gone.
    void detach_comms_from_kernel();
} // namespace xparallel

#endif
