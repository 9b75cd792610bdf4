#include "xparallel/xlifetime.hpp"

#include <Python.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include <csignal>
#include <signal.h>

#include <unistd.h>

#include "xparallel/xserver.hpp"
#include "xparallel/xsignals.hpp"

namespace xparallel
{
    namespace
    {
        using clock = std::chrono::steady_clock;
        std::atomic<bool> armed{false};
        std::atomic<clock::rep> deadline{0};

        clock::time_point exit_time()
        {
            return clock::time_point(clock::duration(deadline.load()));
        }
    } // namespace

    void exit_now(int code)
    {
        std::cout.flush();
        std::cerr.flush();
        std::fflush(nullptr);
        ::_exit(code);
    }

    void arm_exit_watchdog()
    {
        if (armed.exchange(true))
        {
            return;
        }
        deadline.store((clock::now() + exit_deadline).time_since_epoch().count());
        // Detached: it either ends the process or dies with it.
        std::thread(
            []
            {
                std::this_thread::sleep_until(exit_time());
                std::cerr << "xparallel: the kernel did not end within "
                          << exit_deadline.count() / 1000.0 << " s of its shutdown; exiting\n";
                exit_now(0);
            })
            .detach();
    }

    void watch_parent_process()
    {
        const char* given = std::getenv("JPY_PARENT_PID");
        const pid_t parent = ::getppid();
        // As ipykernel: only when Jupyter asked for it, and never for init (pid 1), which is what
        // an orphan's parent becomes anyway.
        if (given == nullptr || std::string(given).empty() || parent <= 1)
        {
            return;
        }
        std::thread(
            [parent]
            {
                while (::getppid() == parent)
                {
                    std::this_thread::sleep_for(std::chrono::milliseconds(500));
                }
                std::cerr << "xparallel: the kernel's parent process (" << parent
                          << ") exited; shutting down\n";
                arm_exit_watchdog();
                interrupt_running_cell();
                request_kernel_stop();
            })
            .detach();
    }

    void handle_termination_requests()
    {
        std::thread waiter(
            []
            {
                sigset_t set;
                sigemptyset(&set);
                sigaddset(&set, SIGTERM);
                int received = 0;
                while (true)
                {
                    if (sigwait(&set, &received) != 0 || received != SIGTERM)
                    {
                        continue;
                    }
                    if (armed.load())
                    {
                        continue;
                    }
                    arm_exit_watchdog();
                    interrupt_running_cell();
                    request_kernel_stop();
                }
            });
        pass_sigterm_to(waiter.native_handle());
        waiter.detach();
    }

    void end_python_work()
    {
        arm_exit_watchdog();
        const double left = std::chrono::duration<double>(exit_time() - clock::now()).count();
        const double timeout = std::max(0.1, std::min(1.0, left - 0.7));
        bool abandoned = false;
        PyGILState_STATE gil = PyGILState_Ensure();
        PyObject* lifetime = PyImport_ImportModule("xparallel_kernel.lifetime");
        if (lifetime != nullptr)
        {
            PyObject* result = PyObject_CallMethod(lifetime, "end_engine_pool", "d", timeout);
            abandoned = result == Py_True;
            if (result == nullptr)
            {
                PyErr_Print();
            }
            Py_XDECREF(result);
            if (abandoned)
            {
                Py_XDECREF(PyObject_CallMethod(lifetime, "flush_standard_streams", nullptr));
            }
            Py_DECREF(lifetime);
        }
        PyErr_Clear();
        PyGILState_Release(gil);
        if (abandoned)
        {
            exit_now(0);
        }
    }
} // namespace xparallel
