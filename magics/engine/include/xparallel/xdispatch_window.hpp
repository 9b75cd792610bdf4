#ifndef XPARALLEL_XDISPATCH_WINDOW_HPP
#define XPARALLEL_XDISPATCH_WINDOW_HPP

#include <cstddef>

namespace xparallel
{
    // How many chunks the main side may hand out. Two separate bounds, so that one slow chunk
    // does not idle the other workers (head-of-line blocking):
    // - running: chunks queued or running, counted down when a chunk is *delivered*, in any order;
    //   enough to keep every worker busy while the main thread collects, and no more;
    // - outstanding: chunks handed out and not yet taken in input order (the reorder buffer,
    //   plus what runs), and the bytes of delivered results held there; generous, so that
    //   workers go on past a slow chunk, yet bounded, so that a lazy input is not materialised.
    class dispatch_window
    {
    public:
        struct limits
        {
            std::size_t running = 5;
            std::size_t outstanding = 1024;
            std::size_t held_bytes = std::size_t(256) << 20;
        };

        explicit dispatch_window(limits l) : m_limits(l) {}

        bool may_dispatch() const noexcept
        {
            return running() < m_limits.running && outstanding() < m_limits.outstanding &&
                   m_held_bytes < m_limits.held_bytes;
        }

        void dispatched() noexcept { ++m_dispatched; }
        // A chunk came back (any order) with `bytes` of results, now held until collected.
        void delivered(std::size_t bytes) noexcept
        {
            ++m_delivered;
            m_held_bytes += bytes;
        }
        // A delivered chunk was taken in input order.
        void collected(std::size_t bytes) noexcept
        {
            ++m_collected;
            m_held_bytes -= bytes < m_held_bytes ? bytes : m_held_bytes;
        }

        std::size_t running() const noexcept { return m_dispatched - m_delivered; }
        std::size_t outstanding() const noexcept { return m_dispatched - m_collected; }
        std::size_t held_bytes() const noexcept { return m_held_bytes; }

    private:
        limits m_limits;
        std::size_t m_dispatched = 0;
        std::size_t m_delivered = 0;
        std::size_t m_collected = 0;
        std::size_t m_held_bytes = 0;
    };
} // namespace xparallel

#endif
