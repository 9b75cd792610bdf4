#ifndef XPARALLEL_XWORK_QUEUE_HPP
#define XPARALLEL_XWORK_QUEUE_HPP

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>

namespace xparallel
{
    // The queue between the main thread and the workers: many producers, many consumers, FIFO.
    // close() wakes every consumer with nullopt once the queue is empty; remove_if() drops queued
    // work (cancellation) without touching what a worker already took.
    template <class T> class work_queue
    {
    public:
        void push(T value)
        {
            {
                std::lock_guard lock(m_mutex);
                m_items.push_back(std::move(value));
            }
            m_ready.notify_one();
        }

        // Blocks until an item is there or the queue is closed and drained.
        std::optional<T> pop()
        {
            return pop([] { return false; });
        }

        // The same, also giving up (nullopt) once `stop()` is true: checked under the queue's
        // lock, after each wake_all(), so one consumer can be told to leave.
        template <class Stop> std::optional<T> pop(Stop&& stop)
        {
            std::unique_lock lock(m_mutex);
            m_ready.wait(lock, [&] { return !m_items.empty() || m_closed || stop(); });
            if (m_items.empty() || stop())
            {
                if (!m_items.empty())
                {
                    m_ready.notify_one(); // the wake-up this consumer took was for an item
                }
                return std::nullopt;
            }
            T value = std::move(m_items.front());
            m_items.pop_front();
            return value;
        }

        template <class Predicate> std::size_t remove_if(Predicate&& predicate)
        {
            std::lock_guard lock(m_mutex);
            const std::size_t before = m_items.size();
            std::erase_if(m_items, predicate);
            return before - m_items.size();
        }

        void close()
        {
            {
                std::lock_guard lock(m_mutex);
                m_closed = true;
            }
            m_ready.notify_all();
        }

        // Wakes every consumer to check its stop condition again.
        void wake_all()
        {
            {
                std::lock_guard lock(m_mutex);
            }
            m_ready.notify_all();
        }

        std::size_t size() const
        {
            std::lock_guard lock(m_mutex);
            return m_items.size();
        }

    private:
        mutable std::mutex m_mutex;
        std::condition_variable m_ready;
        std::deque<T> m_items;
        bool m_closed = false;
    };
} // namespace xparallel

#endif
