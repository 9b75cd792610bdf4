#include "xparallel/xjson_bridge.hpp"

#include <pybind11_json/pybind11_json.hpp>

namespace xparallel
{
    nl::json to_json(py::handle object)
    {
        try
        {
            return pyjson::to_json(object);
        }
        catch (const std::exception&)
        {
            // Values JSON has no type for (datetimes, sets, NumPy arrays, ...): converted the way
            // jupyter_client does, through the kernel's encoder. Deliberately leaked: a static
            // py::object would be released after Python has finalised.
            static auto* dumps =
                new py::object(py::module_::import("xparallel_kernel.jsonutil").attr("dumps"));
            return nl::json::parse((*dumps)(object).cast<std::string>());
        }
    }

    py::object from_json(const nl::json& value)
    {
        return pyjson::from_json(value);
    }
} // namespace xparallel
