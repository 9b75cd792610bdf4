#ifndef XPARALLEL_XSIGNALS_HPP
#define XPARALLEL_XSIGNALS_HPP

#include <csignal>

namespace xparallel
{
    // Signal policy of the kernel. xeus's ZeroMQ loops end on EINTR, so asynchronous signals
    // (SIGINT, and any a user's code may handle: SIGALRM, SIGUSR1, ...) are blocked in every
    // thread, and unblocked only in the main thread while a cell runs, where Python's handlers run:
    // an interrupt raises KeyboardInterrupt and wakes a blocking call such as time.sleep. An
    // interrupt while idle is discarded; other signals that arrived while idle are handled when the
    // next cell starts. SIGTERM is blocked too, except in the main thread during a cell: one thread
    // waits for it and shuts the kernel down (xlifetime.hpp). Left alone: SIGKILL/SIGSTOP and the synchronous faults.

    // Call first thing in main(), before Python starts: a process started in the background (a
    // Jupyter server run with `nohup ... &`, a service) hands its children SIGINT ignored, which
    // survives exec; Python then installs no KeyboardInterrupt handler and the stop button does
    // nothing. The kernel sets SIGINT and SIGTERM to their defaults whatever it inherited (Python
    // then installs its SIGINT handler), as ipykernel installs its handlers explicitly.
    void reset_inherited_signal_dispositions();

    // Call first thing in main(), before any thread exists, so that every thread inherits the mask.
    // A process forked from the kernel gets an empty mask and SIGTERM's default back.
    void block_async_signals_in_all_threads();

    // SIGTERM is waited for by one thread (`waiter`, xlifetime.hpp). While a cell runs the main
    // thread leaves it unblocked (a cell's children inherit its mask, and must be terminable);
    // one delivered there is passed on to `waiter`.
    void pass_sigterm_to(pthread_t waiter);

    // Interrupts the running cell, from any thread (the control channel's, for an
    // interrupt_request). Does nothing while no cell runs.
    void interrupt_running_cell();

    // RAII: holds those signals off the calling thread during a call into ZeroMQ from a cell.
    // libzmq fails a send or a receive interrupted by a signal (EINTR), which would lose the
    // message; a signal that arrives meanwhile is delivered when this ends (an interrupt then
    // interrupts the cell).
    class signals_held
    {
    public:
        signals_held();
        ~signals_held();
        signals_held(const signals_held&) = delete;
        signals_held& operator=(const signals_held&) = delete;

    private:
        sigset_t m_previous;
    };

    // RAII: opens the main thread to SIGINT for the duration of one cell. Requires the GIL.
    class cell_interrupt_window
    {
    public:
        cell_interrupt_window();
        ~cell_interrupt_window();
        cell_interrupt_window(const cell_interrupt_window&) = delete;
        cell_interrupt_window& operator=(const cell_interrupt_window&) = delete;
    };
} // namespace xparallel

#endif
