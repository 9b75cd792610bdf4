#include <gtest/gtest.h>

#include "xparallel/xchunk_sizer.hpp"
#include "xparallel/xdispatch_window.hpp"

using xparallel::chunk_sizer;
using xparallel::dispatch_window;

TEST(dispatch_window, running_chunks_are_bounded)
{
    dispatch_window window({.running = 3, .outstanding = 100});
    for (int i = 0; i < 3; ++i)
    {
        ASSERT_TRUE(window.may_dispatch());
        window.dispatched();
    }
    EXPECT_FALSE(window.may_dispatch());
    EXPECT_EQ(window.running(), 3u);
}

TEST(dispatch_window, a_delivery_out_of_order_opens_the_window_past_a_slow_head)
{
    // Chunk 0 is slow; chunks 1.. come back while it still runs (head-of-line blocking would
    // keep the window shut until chunk 0 is taken).
    dispatch_window window({.running = 3, .outstanding = 100});
    for (int i = 0; i < 3; ++i)
    {
        window.dispatched();
    }
    for (int i = 0; i < 50; ++i)
    {
        window.delivered(10); // a later chunk; none can be collected before chunk 0
        ASSERT_TRUE(window.may_dispatch()) << i;
        window.dispatched();
    }
    EXPECT_EQ(window.running(), 3u);
    EXPECT_EQ(window.outstanding(), 53u);
    EXPECT_EQ(window.held_bytes(), 500u);
}

TEST(dispatch_window, the_reorder_buffer_is_bounded_in_chunks)
{
    dispatch_window window({.running = 2, .outstanding = 10});
    std::size_t dispatched = 0;
    while (window.may_dispatch() && dispatched < 1000)
    {
        window.dispatched();
        ++dispatched;
        if (dispatched > 1)
        {
            window.delivered(1); // everything but the head comes back at once
        }
    }
    EXPECT_EQ(dispatched, 10u); // a lazy input is not materialised behind a stuck head
    window.delivered(1);        // the head arrives
    for (int i = 0; i < 10; ++i)
    {
        window.collected(1);
    }
    EXPECT_TRUE(window.may_dispatch());
    EXPECT_EQ(window.outstanding(), 0u);
    EXPECT_EQ(window.held_bytes(), 0u);
}

TEST(dispatch_window, the_reorder_buffer_is_bounded_in_bytes)
{
    dispatch_window window({.running = 2, .outstanding = 1000, .held_bytes = 100});
    window.dispatched();
    window.dispatched();
    window.delivered(60);
    EXPECT_TRUE(window.may_dispatch());
    window.dispatched();
    window.delivered(60);
    EXPECT_FALSE(window.may_dispatch()); // 120 bytes held
    window.collected(60);
    EXPECT_TRUE(window.may_dispatch());
}

TEST(chunk_sizer, learns_from_a_delivery_that_comes_before_the_slow_head)
{
    chunk_sizer sizer({.workers = 2, .total = 301});
    EXPECT_EQ(sizer.next(0), 1u); // the slow head, unmeasured
    EXPECT_EQ(sizer.next(1), 1u);
    sizer.record(1, 0.001); // item 1 comes back first: 1 ms per item
    const std::size_t size = sizer.next(2);
    EXPECT_GT(size, 1u);
    EXPECT_LE(size, 4u); // grows at most fourfold
}

TEST(chunk_sizer, the_last_chunks_shrink_so_that_workers_finish_together)
{
    chunk_sizer sizer({.workers = 2, .total = 1000});
    sizer.next(0);
    sizer.record(1, 1e-7); // fast items: the target alone would give large chunks
    std::size_t dispatched = 1;
    std::size_t size = 0;
    for (int i = 0; i < 40 && dispatched < 1000; ++i)
    {
        size = sizer.next(dispatched);
        sizer.record(size, static_cast<double>(size) * 1e-7);
        const std::size_t left = 1000 - dispatched;
        EXPECT_LE(size, (left + 3) / 4) << "left " << left; // half a worker's share of the rest
        dispatched += size;
    }
}
