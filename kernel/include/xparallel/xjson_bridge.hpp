#ifndef XPARALLEL_XJSON_BRIDGE_HPP
#define XPARALLEL_XJSON_BRIDGE_HPP

#include <nlohmann/json.hpp>
#include <pybind11/pybind11.h>

namespace xparallel
{
    namespace nl = nlohmann;
    namespace py = pybind11;

    // Message contents cross between Python and xeus directly, object by object (pybind11_json,
    // as xeus-python does); values JSON has no type for are converted the way jupyter_client does
    // (xparallel_kernel.jsonutil). NaN and infinities become null on the wire. Both require the
    // GIL.
    nl::json to_json(py::handle object);
    py::object from_json(const nl::json& value);
} // namespace xparallel

#endif
