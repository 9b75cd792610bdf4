#ifndef XPARALLEL_XFORK_RELAY_HPP
#define XPARALLEL_XFORK_RELAY_HPP

#include <functional>
#include <string>
#include <string_view>
#include <thread>

namespace xparallel
{
    // Output of processes forked from the kernel (os.fork, multiprocessing's fork start method).
    // A forked child has none of the kernel's threads and must never touch its ZeroMQ sockets
    // (their I/O threads are gone: a send hangs or fails, and the child falls back into the
    // kernel's loop). What a child writes goes as datagrams over a socket pair to a relay thread
    // in the kernel, which hands it to the kernel's own stream buffer: it reaches the cell that
    // is running, as ipykernel's forked children's output does.
    class fork_relay
    {
    public:
        using deliver_function = std::function<void(const std::string& name, std::string_view)>;

        // In the kernel: opens the socket pair and starts the relay thread.
        explicit fork_relay(deliver_function deliver);
        // Ends the relay thread and closes the kernel's ends.
        ~fork_relay();
        fork_relay(const fork_relay&) = delete;
        fork_relay& operator=(const fork_relay&) = delete;

        // In a forked child (after_fork_in_child was called): sends text to the kernel. Text the
        // kernel can no longer take (it has exited) is dropped; never raises SIGPIPE.
        void send(const std::string& name, std::string_view text) const;
        // pthread_atfork's child handler: closes what only the kernel reads.
        void after_fork_in_child();

    private:
        void relay_loop();

        deliver_function m_deliver;
        int m_kernel_end = -1;  // read by the relay thread
        int m_child_end = -1;   // written by forked children
        int m_stop[2] = {-1, -1};
        std::thread m_thread;
        bool m_in_child = false;
    };
} // namespace xparallel

#endif
