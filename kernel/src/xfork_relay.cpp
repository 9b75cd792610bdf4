#include "xparallel/xfork_relay.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <vector>

namespace xparallel
{
    namespace
    {
        // One datagram: a byte naming the stream, then its text. Datagrams keep two children's
        // writes from interleaving mid-line; this bounds one well under the socket's buffer.
        constexpr std::size_t max_text = 32 * 1024;

        void close_fd(int& fd)
        {
            if (fd >= 0)
            {
                close(fd);
                fd = -1;
            }
        }
    } // namespace

    fork_relay::fork_relay(deliver_function deliver) : m_deliver(std::move(deliver))
    {
        int ends[2];
        // CLOEXEC: a child that execs (subprocess, spawn, forkserver) does not keep them.
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) != 0 ||
            pipe2(m_stop, O_CLOEXEC) != 0)
        {
            throw std::runtime_error("cannot open the socket pair for forked children's output");
        }
        m_kernel_end = ends[0];
        m_child_end = ends[1];
        m_thread = std::thread([this] { relay_loop(); });
    }

    fork_relay::~fork_relay()
    {
        if (m_thread.joinable() && !m_in_child)
        {
            const char stop = 1;
            [[maybe_unused]] const auto written = write(m_stop[1], &stop, 1);
            m_thread.join();
        }
        close_fd(m_kernel_end);
        close_fd(m_child_end);
        close_fd(m_stop[0]);
        close_fd(m_stop[1]);
    }

    void fork_relay::relay_loop()
    {
        std::vector<char> buffer(max_text + 1);
        pollfd watched[2] = {{m_kernel_end, POLLIN, 0}, {m_stop[0], POLLIN, 0}};
        while (true)
        {
            if (poll(watched, 2, -1) < 0)
            {
                continue; // EINTR
            }
            if (watched[1].revents != 0)
            {
                return;
            }
            const ssize_t size = recv(m_kernel_end, buffer.data(), buffer.size(), 0);
            if (size > 1)
            {
                m_deliver(buffer[0] == 'e' ? "stderr" : "stdout",
                          std::string_view(buffer.data() + 1, static_cast<std::size_t>(size - 1)));
            }
        }
    }

    void fork_relay::send(const std::string& name, std::string_view text) const
    {
        std::vector<char> datagram;
        while (!text.empty())
        {
            const std::size_t size = std::min(text.size(), max_text);
            datagram.assign(1, name == "stderr" ? 'e' : 'o');
            datagram.insert(datagram.end(), text.begin(), text.begin() + size);
            ssize_t sent;
            do
            {
                sent = ::send(m_child_end, datagram.data(), datagram.size(), MSG_NOSIGNAL);
            } while (sent < 0 && errno == EINTR);
            if (sent < 0)
            {
                return; // the kernel is gone
            }
            text.remove_prefix(size);
        }
    }

    void fork_relay::after_fork_in_child()
    {
        // The relay thread does not exist here: it must never be joined or detached.
        m_in_child = true;
        close_fd(m_kernel_end);
        close_fd(m_stop[0]);
        close_fd(m_stop[1]);
    }
} // namespace xparallel
