#include <csignal>
#include <pthread.h>
#include <string>
#include <vector>

#include <pybind11/stl.h>
#include <xeus/xinput.hpp>
#include <xeus/xinterpreter.hpp>

#include "xparallel/xbridges.hpp"
#include "xparallel/xjson_bridge.hpp"

namespace xparallel
{
    namespace
    {
        xeus::xinterpreter& kernel() { return xeus::get_interpreter(); }

        // RAII: keeps SIGINT away from the main thread while it waits on the stdin socket, whose
        // receive would fail with EINTR and lose the reply.
        class sigint_blocked
        {
        public:
            sigint_blocked()
            {
                sigset_t set;
                sigemptyset(&set);
                sigaddset(&set, SIGINT);
                pthread_sigmask(SIG_BLOCK, &set, &m_previous);
            }
            ~sigint_blocked() { pthread_sigmask(SIG_SETMASK, &m_previous, nullptr); }
            sigint_blocked(const sigint_blocked&) = delete;
            sigint_blocked& operator=(const sigint_blocked&) = delete;

        private:
            sigset_t m_previous;
        };
    }

    void bind_output_bridge(py::module_& m)
    {
        m.def("publish_stream", [](const std::string& name, const std::string& text)
              { kernel().publish_stream(name, text); });
        m.def("display_data",
              [](py::handle data, py::handle metadata, py::handle transient)
              { kernel().display_data(to_json(data), to_json(metadata), to_json(transient)); });
        m.def("update_display_data",
              [](py::handle data, py::handle metadata, py::handle transient) {
                  kernel().update_display_data(to_json(data), to_json(metadata),
                                               to_json(transient));
              });
        m.def("publish_execution_result",
              [](int execution_count, py::handle data, py::handle metadata) {
                  kernel().publish_execution_result(execution_count, to_json(data),
                                                    to_json(metadata));
              });
        m.def("publish_execution_error",
              [](const std::string& ename, const std::string& evalue,
                 const std::vector<std::string>& traceback)
              { kernel().publish_execution_error(ename, evalue, traceback); });
        m.def("clear_output", [](bool wait) { kernel().clear_output(wait); });
        m.def("parent_header", [] { return from_json(kernel().parent_header()); });
        m.def(
            "input_request",
            [](const std::string& prompt, bool password)
            {
                sigint_blocked quiet;
                py::gil_scoped_release release;
                return xeus::blocking_input_request(prompt, password);
            },
            "Asks the front end for a line of input and waits for the reply.");
    }
}
