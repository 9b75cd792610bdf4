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
        pthread_t termination_thread{};

        // SIGTERM is unblocked while a cell runs (so the cell's children do not inherit it
        // blocked): one that lands on the main thread then is passed on to the thread that
        // waits for it. pthread_kill is async-signal-safe.
        void pass_termination_on(int)
        {
            pthread_kill(termination_thread, SIGTERM);
        }

        // A process forked from the kernel (multiprocessing's fork start method, os.fork) keeps
        // running Python without the kernel's threads: it gets a Python process's usual signal
        // state, not the kernel's. (exec resets handled signals to their defaults itself.)
        void normal_signal_state_in_child()
        {
            std::signal(SIGTERM, SIG_DFL);
            sigset_t none;
            sigemptyset(&none);
            pthread_sigmask(SIG_SETMASK, &none, nullptr);
        }

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
        pthread_atfork(nullptr, nullptr, normal_signal_state_in_child);
    }

    void pass_sigterm_to(pthread_t waiter)
    {
        termination_thread = waiter;
        struct sigaction action = {};
        action.sa_handler = pass_termination_on;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESTART;
        sigaction(SIGTERM, &action, nullptr);
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
        // Everything, SIGTERM included: what the cell starts (subprocess, multiprocessing, a
        // forkserver) inherits this thread's mask, and must be terminable.
        sigset_t set = async_signals();
        pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    }

    cell_interrupt_window::~cell_interrupt_window()
    {
        sigset_t set = async_signals();
        pthread_sigmask(SIG_BLOCK, &set, nullptr);
        cell_running.store(false);
    }
} // namespace xparallel
