#ifndef XPARALLEL_XOUTPUT_HPP
#define XPARALLEL_XOUTPUT_HPP

#include <mutex>
#include <string>
#include <string_view>

#include "xparallel/xsignals.hpp"

namespace xparallel
{
    // The one path from any thread to the front end. ZeroMQ sockets are not thread-safe, so every
    // IOPub send (xeus's own status and execute_input included, see xserver.cpp) holds one mutex;
    // stream text is buffered and published by a dedicated thread within the flush interval (so a
    // line shows while the cell goes on, and a thread's prints arrive while no cell runs), and
    // always before any other message, so output keeps its order and a cell's output precedes
    // its reply and idle status. Messages carry the parent header of the current request.

    // Held around every IOPub send. Recursive: publishing a display flushes stream text first.
    std::recursive_mutex& publish_mutex();

    // RAII for publishing one message from any thread: holds the publish mutex, publishes pending
    // stream text first, and holds async signals off (libzmq fails a send interrupted by EINTR).
    // `open()` is false once the kernel has stopped: the message must then be dropped.
    class output_lock
    {
    public:
        output_lock();
        ~output_lock();
        output_lock(const output_lock&) = delete;
        output_lock& operator=(const output_lock&) = delete;

        bool open() const;

    private:
        signals_held m_held;
        std::unique_lock<std::recursive_mutex> m_lock;
    };

    // Appends text to a stream's buffer (never blocks on the socket); any thread.
    void write_stream(const std::string& name, std::string_view text);
    // Publishes the pending stream text now; any thread.
    void flush_streams();

    // Called when the server starts: output may reach the front end from then on.
    void open_output();
    // Called once the kernel has stopped, before it is destroyed: flushes what it can, ends the
    // publishing thread; later output is dropped.
    void close_output();
} // namespace xparallel

#endif
