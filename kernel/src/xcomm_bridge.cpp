#include <map>
#include <memory>
#include <string>
#include <tuple>

#include <xeus/xcomm.hpp>
#include <xeus/xinterpreter.hpp>

#include "xparallel/xbridges.hpp"
#include "xparallel/xjson_bridge.hpp"
#include "xparallel/xoutput.hpp"

namespace xparallel
{
    namespace
    {
        xeus::xcomm_manager& comm_manager()
        {
            return xeus::get_interpreter().comm_manager();
        }

        bool kernel_alive = true;

        xeus::buffer_sequence to_buffers(py::handle buffers)
        {
            xeus::buffer_sequence result;
            if (buffers.is_none())
            {
                return result;
            }
            for (py::handle buffer : buffers)
            {
                py::buffer_info info =
                    py::reinterpret_borrow<py::buffer>(
                        py::module_::import("builtins").attr("memoryview")(buffer))
                        .request();
                const auto* begin = static_cast<const char*>(info.ptr);
                result.emplace_back(begin, begin + info.size * info.itemsize);
            }
            return result;
        }

        py::dict to_python(const xeus::xmessage& message)
        {
            py::list buffers;
            for (const auto& buffer : message.buffers())
            {
                buffers.append(py::bytes(buffer.data(), buffer.size()));
            }
            py::dict result;
            result["header"] = from_json(message.header());
            result["parent_header"] = from_json(message.parent_header());
            result["metadata"] = from_json(message.metadata());
            result["content"] = from_json(message.content());
            result["buffers"] = buffers;
            result["msg_type"] = result["header"]["msg_type"];
            return result;
        }

        // A handler raising must not unwind into xeus: report it as Python would.
        void call_reporting_errors(const py::object& handler, py::handle argument)
        {
            try
            {
                handler(argument);
            }
            catch (py::error_already_set& error)
            {
                error.restore();
                PyErr_Print();
            }
        }

        // One xeus target per name, dispatching to whatever Python registered under that name at
        // the time a front end opens a comm. Comms keep a pointer to their target, so a target is
        // registered once and never replaced.
        std::map<std::string, py::object>& python_targets()
        {
            static auto* targets = new std::map<std::string, py::object>();
            return *targets;
        }
    } // namespace

    // A comm as xeus knows it (so comm_info and routing of incoming comm_msg work), driven from
    // Python by xparallel_kernel.comms.Comm.
    class python_comm
    {
    public:
        explicit python_comm(xeus::xcomm&& comm)
            : p_comm(std::make_unique<xeus::xcomm>(std::move(comm)))
        {
            attach();
        }
        python_comm(const std::string& target_name, const std::string& comm_id)
            : p_comm(
                  std::make_unique<xeus::xcomm>(ensure_target(target_name), xeus::xguid(comm_id)))
        {
            attach();
        }
        ~python_comm()
        {
            if (!kernel_alive)
            {
                (void)p_comm.release(); // its manager is gone: nothing left to unregister from
            }
        }
        python_comm(const python_comm&) = delete;
        python_comm& operator=(const python_comm&) = delete;

        void open(py::handle data, py::handle metadata, py::handle buffers)
        {
            auto [d, m, b] = convert(data, metadata, buffers);
            output_lock lock;
            if (!lock.open())
            {
                return;
            }
            p_comm->open(std::move(m), std::move(d), std::move(b));
        }
        void send(py::handle data, py::handle metadata, py::handle buffers)
        {
            auto [d, m, b] = convert(data, metadata, buffers);
            output_lock lock;
            if (!lock.open())
            {
                return;
            }
            p_comm->send(std::move(m), std::move(d), std::move(b));
        }
        void close(py::handle data, py::handle metadata, py::handle buffers)
        {
            auto [d, m, b] = convert(data, metadata, buffers);
            output_lock lock;
            if (!lock.open())
            {
                return;
            }
            p_comm->close(std::move(m), std::move(d), std::move(b));
        }
        void set_handlers(py::object on_message, py::object on_close)
        {
            m_on_message = std::move(on_message);
            m_on_close = std::move(on_close);
        }
        std::string id() const { return std::string(p_comm->id()); }

        static const xeus::xtarget* ensure_target(const std::string& name)
        {
            if (const xeus::xtarget* target = comm_manager().target(name))
            {
                return target;
            }
            comm_manager().register_comm_target(
                name, [name](xeus::xcomm&& comm, xeus::xmessage request)
                { dispatch_open(name, std::move(comm), std::move(request)); });
            return comm_manager().target(name);
        }

    private:
        static std::tuple<nl::json, nl::json, xeus::buffer_sequence>
        convert(py::handle data, py::handle metadata, py::handle buffers)
        {
            return {to_json(data), to_json(metadata), to_buffers(buffers)};
        }

        static void dispatch_open(const std::string& name, xeus::xcomm&& comm,
                                  xeus::xmessage request)
        {
            py::gil_scoped_acquire gil;
            auto found = python_targets().find(name);
            if (found == python_targets().end())
            {
                // Nothing listens here: tell the front end, as ipykernel does.
                comm.close(nl::json::object(), nl::json::object(), {});
                return;
            }
            auto wrapped = std::make_unique<python_comm>(std::move(comm));
            try
            {
                found->second(py::cast(std::move(wrapped)), to_python(request));
            }
            catch (py::error_already_set& error)
            {
                error.restore();
                PyErr_Print();
            }
        }

        void attach()
        {
            p_comm->on_message(
                [this](xeus::xmessage message)
                {
                    py::gil_scoped_acquire gil;
                    if (m_on_message)
                    {
                        call_reporting_errors(m_on_message, to_python(message));
                    }
                });
            p_comm->on_close(
                [this](xeus::xmessage message)
                {
                    py::gil_scoped_acquire gil;
                    if (m_on_close)
                    {
                        call_reporting_errors(m_on_close, to_python(message));
                    }
                    m_on_message = py::object();
                    m_on_close = py::object();
                });
        }

        std::unique_ptr<xeus::xcomm> p_comm;
        py::object m_on_message;
        py::object m_on_close;

        friend void bind_comm_bridge(py::module_& m);
    };

    void detach_comms_from_kernel()
    {
        kernel_alive = false;
    }

    void bind_comm_bridge(py::module_& m)
    {
        py::class_<python_comm>(m, "XComm")
            .def(py::init<const std::string&, const std::string&>(), py::arg("target_name"),
                 py::arg("comm_id"))
            .def("open", &python_comm::open)
            .def("send", &python_comm::send)
            .def("close", &python_comm::close)
            .def("set_handlers", &python_comm::set_handlers)
            .def_property_readonly("comm_id", &python_comm::id);
        m.def(
            "register_target",
            [](const std::string& name, py::object callback)
            {
                python_targets()[name] = std::move(callback);
                python_comm::ensure_target(name);
            },
            "Routes comms that a front end opens to `name` to callback(xcomm, message).");
        m.def("unregister_target", [](const std::string& name) { python_targets().erase(name); });
    }
} // namespace xparallel
