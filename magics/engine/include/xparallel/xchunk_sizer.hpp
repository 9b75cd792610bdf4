#ifndef XPARALLEL_XCHUNK_SIZER_HPP
#define XPARALLEL_XCHUNK_SIZER_HPP

#include <cstddef>
#include <optional>

namespace xparallel
{
    // Automatic chunk sizes: single items until one is measured (so slow items are spread at
    // once), then aim at a bounded chunk time from the measured time per item,
    // and, when the total is known, at a few chunks per worker and at most half a worker's share
    // of what is left, so that the last ones balance. It learns from chunks as they are
    // delivered, in any order (a slow first chunk does not hold back what the others teach).
    // A fixed size given by the user overrides all of it.
    class chunk_sizer
    {
    public:
        struct settings
        {
            std::size_t workers = 1;
            std::size_t fixed = 0;             // 0: automatic
            std::optional<std::size_t> total;  // items in the input, when known
            double target_seconds = 0.02;      // a chunk's aimed duration
            std::size_t chunks_per_worker = 4; // at least this many chunks each, when known
            std::size_t max_items = 1u << 16;
        };

        explicit chunk_sizer(settings s);

        // Size of the next chunk; `dispatched` items were already handed out.
        std::size_t next(std::size_t dispatched);

        // A chunk of `items` took `seconds` of worker time.
        void record(std::size_t items, double seconds);

        std::optional<double> seconds_per_item() const noexcept { return m_per_item; }

    private:
        settings m_settings;
        std::size_t m_last = 0;
        std::optional<double> m_per_item;
    };
} // namespace xparallel

#endif
