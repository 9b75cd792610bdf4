#include <gtest/gtest.h>

#include "xparallel/xchunk_sizer.hpp"

using xparallel::chunk_sizer;

TEST(chunk_sizer, a_fixed_size_wins)
{
    chunk_sizer sizer({.workers = 2, .fixed = 7, .total = 100});
    EXPECT_EQ(sizer.next(0), 7u);
    sizer.record(7, 10.0);
    EXPECT_EQ(sizer.next(7), 7u);
}

TEST(chunk_sizer, single_items_until_measured)
{
    chunk_sizer sizer({.workers = 2, .total = 64});
    EXPECT_EQ(sizer.next(0), 1u);
    EXPECT_EQ(sizer.next(1), 1u);
    EXPECT_EQ(sizer.next(2), 1u);
}

TEST(chunk_sizer, slow_items_stay_single)
{
    chunk_sizer sizer({.workers = 2, .total = 64});
    sizer.next(0);
    sizer.record(1, 0.1); // 100 ms per item, target 20 ms
    EXPECT_EQ(sizer.next(1), 1u);
}

TEST(chunk_sizer, fast_items_grow_fourfold_per_chunk_up_to_the_target)
{
    chunk_sizer sizer({.workers = 2, .total = std::nullopt});
    std::size_t size = sizer.next(0);
    std::size_t dispatched = size;
    for (int i = 0; i < 20; ++i)
    {
        sizer.record(size, static_cast<double>(size) * 1e-6); // 1 us per item
        const std::size_t next = sizer.next(dispatched);
        EXPECT_LE(next, 4 * size);
        size = next;
        dispatched += size;
    }
    EXPECT_EQ(size, 20000u); // 20 ms / 1 us
}

TEST(chunk_sizer, known_totals_leave_several_chunks_per_worker)
{
    chunk_sizer sizer({.workers = 2, .total = 800, .chunks_per_worker = 4});
    std::size_t dispatched = 0;
    std::size_t size = 0;
    for (int i = 0; i < 12; ++i)
    {
        size = sizer.next(dispatched);
        sizer.record(size, static_cast<double>(size) * 1e-7);
        dispatched += size;
    }
    EXPECT_LE(size, 100u); // 800 / (2 workers * 4)
}

TEST(chunk_sizer, never_more_than_what_is_left)
{
    chunk_sizer sizer({.workers = 1, .fixed = 0, .total = 10});
    sizer.record(1, 1e-9);
    EXPECT_LE(sizer.next(9), 1u);
}
