#ifndef XPARALLEL_XORDERED_RESULTS_HPP
#define XPARALLEL_XORDERED_RESULTS_HPP

#include <cstdint>
#include <map>
#include <vector>

namespace xparallel
{
    // Chunks finish in any order; results are handed out in input order. put() takes a chunk's
    // sequence number (0, 1, 2, ... in dispatch order); take_ready() returns the chunks that now
    // form an unbroken run after the ones already taken.
    template <class T> class ordered_results
    {
    public:
        void put(std::uint64_t sequence, T value) { m_waiting.emplace(sequence, std::move(value)); }

        std::vector<T> take_ready()
        {
            std::vector<T> ready;
            for (auto it = m_waiting.begin(); it != m_waiting.end() && it->first == m_next;)
            {
                ready.push_back(std::move(it->second));
                it = m_waiting.erase(it);
                ++m_next;
            }
            return ready;
        }

        std::uint64_t next_sequence() const noexcept { return m_next; }
        std::size_t waiting() const noexcept { return m_waiting.size(); }

    private:
        std::map<std::uint64_t, T> m_waiting;
        std::uint64_t m_next = 0;
    };
} // namespace xparallel

#endif
