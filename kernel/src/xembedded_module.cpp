// The bridges as a module built into the executable, for the kernel that embeds Python itself.
#include <pybind11/embed.h>

#include "xparallel/xbridges.hpp"

PYBIND11_EMBEDDED_MODULE(_xparallel_kernel, m)
{
    xparallel::define_bridge_module(m);
}
