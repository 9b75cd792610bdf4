#include <string>
#include <vector>

#include <pybind11/stl.h>
#include <xeus/xinput.hpp>
#include <xeus/xinterpreter.hpp>

#include "xparallel/xbridges.hpp"
#include "xparallel/xjson_bridge.hpp"
#include "xparallel/xsignals.hpp"

namespace xparallel
{
    namespace
    {
        xeus::xinterpreter& kernel()
        {
            return xeus::get_interpreter();
        }

    } // namespace

    void bind_output_bridge(py::module_& m)
    {
        m.def("publish_stream",
              [](const std::string& name, const std::string& text)
              {
                  signals_held held;
                  kernel().publish_stream(name, text);
              });
        m.def("display_data",
              [](py::handle data, py::handle metadata, py::handle transient)
              {
                  nl::json content[] = {to_json(data), to_json(metadata), to_json(transient)};
                  signals_held held;
                  kernel().display_data(content[0], content[1], content[2]);
              });
        m.def("update_display_data",
              [](py::handle data, py::handle metadata, py::handle transient)
              {
                  nl::json content[] = {to_json(data), to_json(metadata), to_json(transient)};
                  signals_held held;
                  kernel().update_display_data(content[0], content[1], content[2]);
              });
        m.def("publish_execution_result",
              [](int execution_count, py::handle data, py::handle metadata)
              {
                  nl::json content[] = {to_json(data), to_json(metadata)};
                  signals_held held;
                  kernel().publish_execution_result(execution_count, content[0], content[1]);
              });
        m.def("publish_execution_error",
              [](const std::string& ename, const std::string& evalue,
                 const std::vector<std::string>& traceback)
              {
                  signals_held held;
                  kernel().publish_execution_error(ename, evalue, traceback);
              });
        m.def("clear_output",
              [](bool wait)
              {
                  signals_held held;
                  kernel().clear_output(wait);
              });
        m.def("parent_header", [] { return from_json(kernel().parent_header()); });
        m.def(
            "input_request",
            [](const std::string& prompt, bool password)
            {
                signals_held held;
                py::gil_scoped_release release;
                return xeus::blocking_input_request(prompt, password);
            },
            "Asks the front end for a line of input and waits for the reply.");
    }
} // namespace xparallel
