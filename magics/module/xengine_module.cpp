// xparallel._engine: the sub-interpreter pool and its jobs, for the main interpreter.

#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "xjob.hpp"
#include "xparallel/xpool.hpp"

namespace py = pybind11;
using namespace xparallel;

namespace
{
    const char* state_name(worker_state state)
    {
        switch (state)
        {
        case worker_state::starting:
            return "starting";
        case worker_state::idle:
            return "idle";
        case worker_state::busy:
            return "busy";
        case worker_state::stopped:
            return "stopped";
        }
        return "unknown";
    }

    // How long a cancelled item may take to stop before its worker is set aside and replaced.
    constexpr double reclaim_grace_seconds = 0.25;

    // Every pool ever made, so that interpreter exit ends their workers before CPython finalises.
    std::vector<std::weak_ptr<pool>>& all_pools()
    {
        static auto* pools = new std::vector<std::weak_ptr<pool>>();
        return *pools;
    }

    // Ends every pool within about `timeout` seconds in all; false when some worker had to be
    // abandoned (now or by an earlier shutdown) and still runs.
    bool shutdown_all_pools(double timeout)
    {
        py::gil_scoped_release released;
        for (auto& weak : all_pools())
        {
            if (auto live = weak.lock())
            {
                live->shutdown(timeout);
            }
        }
        std::erase_if(all_pools(), [](const std::weak_ptr<pool>& weak) { return weak.expired(); });
        return pool::abandoned_workers() == 0;
    }

    // atexit: end the workers, and when one is stuck in a call that does not return, leave
    // without finalising CPython. Py_FinalizeEx would end every remaining sub-interpreter from
    // the main thread (finalize_subinterpreters) while the stuck thread still runs in it.
    void at_exit()
    {
        if (shutdown_all_pools(2.0))
        {
            return;
        }
        py::module_ sys = py::module_::import("sys");
        int status = 0;
        // A script that ended on an uncaught exception keeps its failing status; a kernel (or
        // any IPython session, where sys.last_exc is only the last cell's error) exits with 0.
        if (py::hasattr(sys, "last_exc") && !sys.attr("modules").contains("IPython"))
        {
            status = 1;
        }
        for (const char* name : {"stdout", "stderr"})
        {
            try
            {
                py::object stream = sys.attr(name);
                if (!stream.is_none())
                {
                    stream.attr("flush")();
                }
            }
            catch (py::error_already_set&)
            {
            }
        }
        std::fflush(nullptr);
        _exit(status);
    }
} // namespace

PYBIND11_MODULE(_engine, m)
{
    m.doc() = "The xparallel engine: own-GIL sub-interpreters on worker threads.";
    // One TransferError for every backend: the pure-Python class of xparallel.transfer.
    m.attr("TransferError") = py::module_::import("xparallel.transfer").attr("TransferError");

    py::class_<pool, std::shared_ptr<pool>>(
        m, "Pool", "A warm pool of worker threads, one own-GIL sub-interpreter each.")
        .def(py::init(
                 [](std::size_t workers, std::vector<std::string> sys_path)
                 {
                     if (workers == 0)
                     {
                         throw py::value_error("a pool needs at least one worker");
                     }
                     auto created = std::make_shared<pool>(workers, std::move(sys_path));
                     all_pools().push_back(created);
                     return created;
                 }),
             py::arg("workers"), py::arg("sys_path"))
        .def(
            "start", &pool::start, py::call_guard<py::gil_scoped_release>(),
            "Create the interpreters (idempotent). Raises RuntimeError when a worker cannot start.")
        .def("shutdown", &pool::shutdown, py::arg("timeout") = 2.0,
             py::call_guard<py::gil_scoped_release>(),
             "Cancel what runs, end every interpreter and join the threads, within about "
             "`timeout` s. False when a worker stuck in a blocking call had to be abandoned.")
        .def("resize", &pool::resize, py::arg("workers"), py::call_guard<py::gil_scoped_release>(),
             "Grow (start workers) or shrink (retire the last ones) in place.")
        .def_property_readonly("set_aside", &pool::set_aside,
                               "Workers set aside after a cancel (or retired) that still run.")
        .def_property_readonly("size", &pool::size)
        .def_property_readonly("running", &pool::running)
        .def_property_readonly("live_interpreters", &pool::live_interpreters)
        .def("states",
             [](const pool& self)
             {
                 std::vector<std::string> states;
                 for (std::size_t i = 0; i < self.size(); ++i)
                 {
                     states.emplace_back(state_name(self.state(i)));
                 }
                 return states;
             })
        .def(
            "drain_events",
            [](pool& self)
            {
                py::list events;
                for (auto& event : self.drain_events())
                {
                    events.append(
                        py::make_tuple(event.worker + 1, event.stream, py::str(event.text)));
                }
                return events;
            },
            "Output the workers printed since the last call: [(worker, stream, text)], "
            "stream 1 = stdout, 2 = stderr.")
        .def(
            "open_job",
            [](std::shared_ptr<pool> self, py::bytes factory, py::bytes sys_path,
               bool stop_on_error)
            {
                {
                    py::gil_scoped_release released;
                    if (!self->running())
                    {
                        self->start();
                    }
                    // Workers still stuck in a cancelled job's items are set aside and
                    // replaced: the new job starts at once on a full pool.
                    self->reclaim(reclaim_grace_seconds);
                }
                return std::make_unique<job>(self, std::move(factory), std::move(sys_path),
                                             stop_on_error);
            },
            py::arg("factory"), py::arg("sys_path"), py::arg("stop_on_error") = true,
            "Open a job: `factory` is a pickled zero-argument callable, run once per worker, that "
            "returns the function applied to every item; `sys_path` is the pickled list the "
            "workers use as sys.path. The dispatcher (xparallel.dispatch) feeds it chunks.");

    py::class_<job>(m, "Job", "The engine's side of one job: chunks in, chunks back in any order.")
        .def("submit", &job::submit, py::arg("sequence"), py::arg("first_index"), py::arg("count"),
             py::arg("payload"), "Queue a chunk: `payload` is the pickled list of its items.")
        .def("wait", &job::wait, py::arg("timeout"),
             "Wait, the GIL released, until a chunk came back or `timeout` s passed.")
        .def("take", &job::take,
             "[(sequence, worker, results, errors, start, end, cpu, wait, bytes)] for the chunks "
             "that came back since the last call, in any order; worker 0-based, times in seconds "
             "since the job started, wait: time the worker was runnable but waiting for a core, "
             "bytes: the size of the pickled results.")
        .def("cancel", &job::cancel, "Drop queued chunks and interrupt running items.")
        .def("close", &job::close, "The dispatcher is done with the job.")
        .def_property_readonly("elapsed", &job::elapsed);

    m.def("shutdown_all", &shutdown_all_pools, py::arg("timeout") = 2.0,
          "End every pool within about `timeout` s; False when some worker still runs, "
          "abandoned in a blocking call.");
    m.def("abandoned_workers", &pool::abandoned_workers,
          "Workers abandoned by a shutdown whose threads still run (the process must then "
          "leave without finalising CPython).");
    py::module_::import("atexit").attr("register")(py::cpp_function(&at_exit));
}
