#include <string>
#include <string_view>
#include <vector>

#include <pybind11/stl.h>
#include <xeus/xinput.hpp>
#include <xeus/xinterpreter.hpp>

#include "xparallel/xbridges.hpp"
#include "xparallel/xjson_bridge.hpp"
#include "xparallel/xoutput.hpp"
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

    // Every function here may be called from any thread (see xoutput.hpp). Contents are converted
    // with the GIL, before the publish mutex is taken; whoever holds that mutex never needs the
    // GIL, so the two never deadlock.
    void bind_output_bridge(py::module_& m)
    {
        m.def(
            "write_stream",
            [](const std::string& name, std::string_view text) { write_stream(name, text); },
            "Buffers stream text; it is published within the flush interval, or before anything "
            "else is published.");
        m.def(
            "flush_streams",
            []
            {
                py::gil_scoped_release release;
                flush_streams();
            },
            "Publishes the buffered stream text now.");
        m.def("display_data",
              [](py::handle data, py::handle metadata, py::handle transient)
              {
                  nl::json content[] = {to_json(data), to_json(metadata), to_json(transient)};
                  output_lock lock;
                  if (lock.open())
                  {
                      kernel().display_data(content[0], content[1], content[2]);
                  }
              });
        m.def("update_display_data",
              [](py::handle data, py::handle metadata, py::handle transient)
              {
                  nl::json content[] = {to_json(data), to_json(metadata), to_json(transient)};
                  output_lock lock;
                  if (lock.open())
                  {
                      kernel().update_display_data(content[0], content[1], content[2]);
                  }
              });
        m.def("publish_execution_result",
              [](int execution_count, py::handle data, py::handle metadata)
              {
                  nl::json content[] = {to_json(data), to_json(metadata)};
                  output_lock lock;
                  if (lock.open())
                  {
                      kernel().publish_execution_result(execution_count, content[0], content[1]);
                  }
              });
        m.def("publish_execution_error",
              [](const std::string& ename, const std::string& evalue,
                 const std::vector<std::string>& traceback)
              {
                  output_lock lock;
                  if (lock.open())
                  {
                      kernel().publish_execution_error(ename, evalue, traceback);
                  }
              });
        m.def("clear_output",
              [](bool wait)
              {
                  output_lock lock;
                  if (lock.open())
                  {
                      kernel().clear_output(wait);
                  }
              });
        m.def("parent_header", [] { return from_json(kernel().parent_header()); });
        m.def(
            "input_request",
            [](const std::string& prompt, bool password)
            {
                {
                    py::gil_scoped_release release;
                    flush_streams();
                }
                signals_held held;
                py::gil_scoped_release release;
                return xeus::blocking_input_request(prompt, password);
            },
            "Asks the front end for a line of input and waits for the reply (main thread).");
    }
} // namespace xparallel
