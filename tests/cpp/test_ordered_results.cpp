#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "xparallel/xordered_results.hpp"

using xparallel::ordered_results;

TEST(ordered_results, holds_back_until_the_gap_is_filled)
{
    ordered_results<int> results;
    results.put(1, 10);
    results.put(2, 20);
    EXPECT_TRUE(results.take_ready().empty());
    results.put(0, 0);
    EXPECT_EQ(results.take_ready(), (std::vector<int>{0, 10, 20}));
    EXPECT_EQ(results.next_sequence(), 3u);
    EXPECT_EQ(results.waiting(), 0u);
}

TEST(ordered_results, any_arrival_order_yields_input_order)
{
    std::vector<std::uint64_t> order(1000);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937(42));
    ordered_results<std::uint64_t> results;
    std::vector<std::uint64_t> seen;
    for (auto sequence : order)
    {
        results.put(sequence, sequence * 3);
        for (auto value : results.take_ready())
        {
            seen.push_back(value);
        }
    }
    ASSERT_EQ(seen.size(), order.size());
    for (std::size_t i = 0; i < seen.size(); ++i)
    {
        EXPECT_EQ(seen[i], i * 3);
    }
}
