#include "xparallel/xjson_bridge.hpp"

namespace xparallel
{
    nl::json to_json(py::handle object)
    {
        // Deliberately leaked: a static py::object would be released after Python has finalised.
        static auto* dumps =
            new py::object(py::module_::import("xparallel_kernel.jsonutil").attr("dumps"));
        return nl::json::parse((*dumps)(object).cast<std::string>());
    }

    py::object from_json(const nl::json& value)
    {
        static auto* loads = new py::object(py::module_::import("json").attr("loads"));
        return (*loads)(value.dump());
    }
} // namespace xparallel
