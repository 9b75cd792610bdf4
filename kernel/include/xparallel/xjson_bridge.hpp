#ifndef XPARALLEL_XJSON_BRIDGE_HPP
#define XPARALLEL_XJSON_BRIDGE_HPP

#include <nlohmann/json.hpp>
#include <pybind11/pybind11.h>

namespace xparallel
{
    namespace nl = nlohmann;
    namespace py = pybind11;

    // Message contents cross between Python and xeus as JSON text: the same rules as the wire
    // (non-JSON values are turned into strings the way jupyter_client does), one code path, and
    // fast enough for messages the size of a widget update. Both require the GIL.
    nl::json to_json(py::handle object);
    py::object from_json(const nl::json& value);
} // namespace xparallel

#endif
