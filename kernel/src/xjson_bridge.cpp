#include "xparallel/xjson_bridge.hpp"

namespace xparallel
{
    nl::json to_json(py::handle object)
    {
        static py::object dumps = py::module_::import("xparallel_kernel.jsonutil").attr("dumps");
        return nl::json::parse(dumps(object).cast<std::string>());
    }

    py::object from_json(const nl::json& value)
    {
        static py::object loads = py::module_::import("json").attr("loads");
        return loads(value.dump());
    }
}
