#ifndef XPARALLEL_XSIGNALS_HPP
#define XPARALLEL_XSIGNALS_HPP

#include <csignal>

namespace xparallel
{
    // SIGINT policy of the kernel: the signal is blocked in every thread, and unblocked only in the
    // main thread while a cell runs. An interrupt while idle is therefore swallowed (it can never
    // reach the ZeroMQ poll loop, whose EINTR would end the kernel), and an interrupt during a cell
    // reaches Python's own handler on the main thread, which raises KeyboardInterrupt there and
    // wakes a blocking call such as time.sleep.

    // Call first thing in main(), before any thread exists, so that every thread inherits the mask.
    void block_sigint_in_all_threads();

    // Interrupts the running cell, from any thread (the control channel's, for an interrupt_request).
    // Does nothing while no cell runs.
    void interrupt_running_cell();

    // RAII: holds SIGINT off the calling thread during a call into ZeroMQ. libzmq fails a send or a
    // receive interrupted by a signal (EINTR), which would lose the message or end the shell loop;
    // a SIGINT that arrives meanwhile is delivered when this ends, and interrupts the cell then.
    class sigint_held
    {
    public:
        sigint_held();
        ~sigint_held();
        sigint_held(const sigint_held&) = delete;
        sigint_held& operator=(const sigint_held&) = delete;

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
}

#endif
