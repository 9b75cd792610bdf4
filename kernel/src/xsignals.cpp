#include "xparallel/xsignals.hpp"

#include <Python.h>

#include <atomic>
#include <csignal>
#include <ctime>
#include <initializer_list>
#include <pthread.h>

namespace xparallel
{
    namespace
    {
        std::atomic<bool> cell_running{false};
        pthread_t main_thread{};

        sigset_t async_signals()
        {
            sigset_t set;
            sigfillset(&set);
            for (int kept :
                 {SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT})
            {
                sigdelset(&set, kept);
            }
            return set;
        }

        sigset_t sigint_only()
        {
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, SIGINT);
            return set;
        }

        // Interrupts that arrived while idle are harmless by contract: discard them, both the ones
        // still pending at the kernel level and one Python's handler may already have recorded.
        void discard_idle_interrupts()
        {
            sigset_t set = sigint_only();
            timespec zero{0, 0};
            while (sigtimedwait(&set, nullptr, &zero) == SIGINT)
            {
            }
            if (PyErr_CheckSignals() != 0)
            {
                PyErr_Clear();
            }
        }
    } // namespace

    void reset_inherited_signal_dispositions()
    {
        for (int kept : {SIGINT, SIGTERM})
        {
            std::signal(kept, SIG_DFL);
        }
    }

    void block_async_signals_in_all_threads()
    {
        sigset_t set = async_signals();
        pthread_sigmask(SIG_BLOCK, &set, nullptr);
        main_thread = pthread_self();
    }

    void interrupt_running_cell()
    {
        if (cell_running.load())
        {
            pthread_kill(main_thread, SIGINT);
        }
    }

    signals_held::signals_held()
    {
        sigset_t set = async_signals();
        pthread_sigmask(SIG_BLOCK, &set, &m_previous);
    }

    signals_held::~signals_held()
    {
        pthread_sigmask(SIG_SETMASK, &m_previous, nullptr);
    }

    cell_interrupt_window::cell_interrupt_window()
    {
        discard_idle_interrupts();
        cell_running.store(true);
        sigset_t set = async_signals();
        sigdelset(&set, SIGTERM); // always taken by the termination thread (xlifetime.hpp)
        pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    }

    cell_interrupt_window::~cell_interrupt_window()
    {
        sigset_t set = async_signals();
        pthread_sigmask(SIG_BLOCK, &set, nullptr);
        cell_running.store(false);
    }
} // namespace xparallel
