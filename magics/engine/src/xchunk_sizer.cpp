#include "xparallel/xchunk_sizer.hpp"

#include <algorithm>
#include <cmath>

namespace xparallel
{
    chunk_sizer::chunk_sizer(settings s) : m_settings(s)
    {
        m_settings.workers = std::max<std::size_t>(1, m_settings.workers);
        m_settings.chunks_per_worker = std::max<std::size_t>(1, m_settings.chunks_per_worker);
    }

    std::size_t chunk_sizer::next(std::size_t dispatched)
    {
        if (m_settings.fixed > 0)
        {
            return m_settings.fixed;
        }
        // Single items until one is measured: slow items are then spread over every worker at once.
        std::size_t size = 1;
        if (m_per_item)
        {
            const double per_item = std::max(*m_per_item, 1e-9);
            size = static_cast<std::size_t>(m_settings.target_seconds / per_item);
            // Grow at most fourfold per chunk: a few fast items say little about the next ones.
            size = std::clamp<std::size_t>(size, 1, std::max<std::size_t>(1, 4 * m_last));
        }
        if (m_settings.total)
        {
            const std::size_t left =
                *m_settings.total > dispatched ? *m_settings.total - dispatched : 0;
            const std::size_t balanced = static_cast<std::size_t>(
                std::ceil(static_cast<double>(*m_settings.total) /
                          static_cast<double>(m_settings.workers * m_settings.chunks_per_worker)));
            // Near the end, at most half of each worker's share of what is left, so that the
            // last chunks finish together instead of one worker running a long tail alone.
            const std::size_t tail = (left + 2 * m_settings.workers - 1) / (2 * m_settings.workers);
            size = std::min({size, std::max<std::size_t>(1, balanced),
                             std::max<std::size_t>(1, tail), std::max<std::size_t>(1, left)});
        }
        size = std::min(size, m_settings.max_items);
        m_last = size;
        return size;
    }

    void chunk_sizer::record(std::size_t items, double seconds)
    {
        if (items == 0)
        {
            return;
        }
        const double sample = seconds / static_cast<double>(items);
        m_per_item = m_per_item ? 0.7 * *m_per_item + 0.3 * sample : sample;
    }
} // namespace xparallel
