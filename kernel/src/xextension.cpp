// The kernel as an extension module of the `python3` process (xlaunch.hpp says why), under the same
// name as the module the executable embeds: the kernel's Python half finds its bridges either way.
#include <string>
#include <vector>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "xparallel/xbridges.hpp"
#include "xparallel/xpython_runtime.hpp"
#include "xparallel/xserve.hpp"

namespace py = pybind11;

namespace
{
    // sys.argv is [-c, packages directory, the kernel's own arguments...] (xlaunch.cpp); Python
    // code then sees the kernel's argv[0] only, as in the embedded kernel.
    int serve_from_python()
    {
        py::module_ sys = py::module_::import("sys");
        const auto given = sys.attr("argv").cast<std::vector<std::string>>();
        const std::vector<std::string> arguments(given.begin() + std::min<std::size_t>(2, given.size()),
                                                 given.end());
        std::string connection_file;
        for (std::size_t i = 0; i + 1 < arguments.size(); ++i)
        {
            if (arguments[i] == "-f")
            {
                connection_file = arguments[i + 1];
            }
        }
        if (connection_file.empty())
        {
            throw py::value_error("usage: xparallel -f CONNECTION_FILE");
        }
        py::list own;
        own.append(arguments.empty() ? std::string("xparallel") : arguments.front());
        sys.attr("argv") = own;

        xparallel::prepare_kernel_process();
        xparallel::python_runtime python(xparallel::python_runtime::attach_t{});
        xparallel::serve(connection_file);
        return 0;
    }
} // namespace

PYBIND11_MODULE(_xparallel_kernel, m)
{
    xparallel::define_bridge_module(m);
    m.def("serve", &serve_from_python,
          "Runs the xparallel kernel in this process until it is shut down (sys.argv as the "
          "xparallel executable passes it).");
}
