#include <algorithm>
#include <atomic>
#include <numeric>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "xparallel/xwork_queue.hpp"

using xparallel::work_queue;

TEST(work_queue, hands_out_in_fifo_order)
{
    work_queue<int> queue;
    for (int i = 0; i < 5; ++i)
    {
        queue.push(i);
    }
    for (int i = 0; i < 5; ++i)
    {
        EXPECT_EQ(queue.pop(), i);
    }
}

TEST(work_queue, close_wakes_waiting_consumers_after_draining)
{
    work_queue<int> queue;
    queue.push(7);
    std::atomic<int> ended{0};
    std::vector<std::thread> consumers;
    std::vector<int> taken(3, -1);
    for (int i = 0; i < 3; ++i)
    {
        consumers.emplace_back(
            [&, i]
            {
                while (auto value = queue.pop())
                {
                    taken[i] = *value;
                }
                ++ended;
            });
    }
    queue.close();
    for (auto& consumer : consumers)
    {
        consumer.join();
    }
    EXPECT_EQ(ended.load(), 3);
    EXPECT_EQ(std::count(taken.begin(), taken.end(), 7), 1);
}

TEST(work_queue, remove_if_drops_only_matching_queued_items)
{
    work_queue<int> queue;
    for (int i = 0; i < 10; ++i)
    {
        queue.push(i);
    }
    EXPECT_EQ(queue.remove_if([](int v) { return v % 2 == 0; }), 5u);
    EXPECT_EQ(queue.size(), 5u);
    EXPECT_EQ(queue.pop(), 1);
    EXPECT_EQ(queue.pop(), 3);
}

TEST(work_queue, every_item_is_taken_exactly_once_by_concurrent_consumers)
{
    work_queue<int> queue;
    constexpr int items = 20000;
    std::atomic<long long> sum{0};
    std::atomic<int> count{0};
    std::vector<std::thread> consumers;
    for (int i = 0; i < 4; ++i)
    {
        consumers.emplace_back(
            [&]
            {
                while (auto value = queue.pop())
                {
                    sum += *value;
                    ++count;
                }
            });
    }
    std::thread producer(
        [&]
        {
            for (int i = 0; i < items; ++i)
            {
                queue.push(i);
            }
            queue.close();
        });
    producer.join();
    for (auto& consumer : consumers)
    {
        consumer.join();
    }
    EXPECT_EQ(count.load(), items);
    EXPECT_EQ(sum.load(), static_cast<long long>(items) * (items - 1) / 2);
}

TEST(work_queue, a_consumer_told_to_stop_leaves_and_hands_its_wakeup_on)
{
    xparallel::work_queue<int> queue;
    std::atomic<bool> stop_first{false};
    std::atomic<int> first_got{0};
    std::atomic<int> second_got{0};
    std::thread first(
        [&]
        {
            while (auto value = queue.pop([&] { return stop_first.load(); }))
            {
                first_got += *value;
            }
        });
    std::thread second(
        [&]
        {
            while (auto value = queue.pop())
            {
                second_got += *value;
            }
        });
    stop_first = true;
    queue.wake_all();
    first.join(); // it left without an item
    for (int i = 1; i <= 100; ++i)
    {
        queue.push(i);
    }
    queue.close();
    second.join();
    EXPECT_EQ(first_got.load(), 0);
    EXPECT_EQ(second_got.load(), 5050); // nothing stranded
}
