#include "xparallel/xsignals.hpp"

#include <Python.h>

#include <atomic>
#include <csignal>
#include <ctime>
#include <pthread.h>

namespace xparallel
{
    namespace
    {
        std::atomic<bool> cell_running{false};
        pthread_t main_thread{};

        sigset_t sigint_set()
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
            sigset_t set = sigint_set();
            timespec zero{0, 0};
            while (sigtimedwait(&set, nullptr, &zero) == SIGINT)
            {
            }
            if (PyErr_CheckSignals() != 0)
            {
                PyErr_Clear();
            }
        }
    }

    void block_sigint_in_all_threads()
    {
        sigset_t set = sigint_set();
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

    sigint_held::sigint_held()
    {
        sigset_t set = sigint_set();
        pthread_sigmask(SIG_BLOCK, &set, &m_previous);
    }

    sigint_held::~sigint_held() { pthread_sigmask(SIG_SETMASK, &m_previous, nullptr); }

    cell_interrupt_window::cell_interrupt_window()
    {
        discard_idle_interrupts();
        cell_running.store(true);
        sigset_t set = sigint_set();
        pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    }

    cell_interrupt_window::~cell_interrupt_window()
    {
        sigset_t set = sigint_set();
        pthread_sigmask(SIG_BLOCK, &set, nullptr);
        cell_running.store(false);
    }
}
