#include "xparallel/xoutput.hpp"

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <thread>
#include <utility>
#include <vector>

#include <xeus/xinterpreter.hpp>

#include "xparallel/xfork_relay.hpp"
#include "xparallel/xsignals.hpp"

namespace xparallel
{
    namespace
    {
        using clock = std::chrono::steady_clock;
        // A burst of prints becomes one message per interval; a lone line goes out at once.
        constexpr auto flush_interval = std::chrono::milliseconds(50);
        constexpr std::size_t max_pending = 64 * 1024;

        struct chunk
        {
            std::string name;
            std::string text;
        };

        // Lock order: publish mutex, then buffer mutex. Writers take only the buffer mutex.
        struct output_state
        {
            std::recursive_mutex publish;
            std::mutex buffer;
            std::condition_variable wake;
            std::vector<chunk> pending;
            std::size_t pending_size = 0;
            clock::time_point last_flush{};
            bool stopping = false;
            std::atomic<bool> open{false};
            std::atomic<bool> closed{false};
            std::thread publisher;
            // A process forked from the kernel: its text goes to the kernel through the relay.
            std::atomic<bool> forked{false};
            fork_relay* relay = nullptr;
        };

        // Deliberately leaked: Python threads may still write during finalisation.
        output_state& state()
        {
            static auto* s = new output_state();
            return *s;
        }

        std::vector<chunk> take_pending()
        {
            output_state& s = state();
            std::lock_guard<std::mutex> lock(s.buffer);
            std::vector<chunk> taken;
            taken.swap(s.pending);
            s.pending_size = 0;
            s.last_flush = clock::now();
            return taken;
        }

        // Requires the publish mutex: what is taken is published before anyone else publishes.
        void flush_streams_locked()
        {
            output_state& s = state();
            if (!s.open.load())
            {
                return; // before the server starts, text waits; after the kernel stops, dropped
            }
            std::vector<chunk> chunks = take_pending();
            if (chunks.empty())
            {
                return;
            }
            signals_held held;
            for (chunk& c : chunks)
            {
                xeus::get_interpreter().publish_stream(c.name, c.text);
            }
        }

        // A fork copies the mutexes as they are: held around it, they are consistent in the child.
        void before_fork()
        {
            state().publish.lock();
            state().buffer.lock();
        }

        void after_fork_in_parent()
        {
            state().buffer.unlock();
            state().publish.unlock();
        }

        void after_fork_in_child()
        {
            output_state& s = state();
            s.pending.clear(); // the kernel's text: the kernel publishes it
            s.pending_size = 0;
            s.forked.store(true);
            s.open.store(false); // displays and widget messages from a child are dropped
            if (s.relay)
            {
                s.relay->after_fork_in_child();
            }
            s.buffer.unlock();
            s.publish.unlock();
        }

        void publisher_loop()
        {
            output_state& s = state();
            std::unique_lock<std::mutex> lock(s.buffer);
            while (!s.stopping)
            {
                s.wake.wait(lock, [&] { return s.stopping || !s.pending.empty(); });
                if (s.stopping)
                {
                    break;
                }
                // A partial line waits up to one interval for its end (print writes the text
                // and its newline separately); then at most one message per interval.
                const auto full = [&] { return s.stopping || s.pending_size >= max_pending; };
                s.wake.wait_until(lock, clock::now() + flush_interval,
                                  [&] {
                                      return full() || s.pending.empty() ||
                                             s.pending.back().text.back() == '\n';
                                  });
                s.wake.wait_until(lock, s.last_flush + flush_interval, full);
                lock.unlock();
                flush_streams();
                lock.lock();
            }
        }
    } // namespace

    std::recursive_mutex& publish_mutex()
    {
        return state().publish;
    }

    output_lock::output_lock() : m_lock(state().publish)
    {
        flush_streams_locked();
    }

    output_lock::~output_lock() = default;

    bool output_lock::open() const
    {
        return state().open.load();
    }

    void write_stream(const std::string& name, std::string_view text)
    {
        output_state& s = state();
        if (text.empty() || s.closed.load())
        {
            return;
        }
        if (s.forked.load())
        {
            if (s.relay)
            {
                s.relay->send(name, text);
            }
            return;
        }
        bool wake = false;
        {
            std::lock_guard<std::mutex> lock(s.buffer);
            wake = s.pending.empty();
            if (!s.pending.empty() && s.pending.back().name == name)
            {
                s.pending.back().text.append(text);
            }
            else
            {
                s.pending.push_back({name, std::string(text)});
            }
            s.pending_size += text.size();
            wake = wake || text.back() == '\n' || s.pending_size >= max_pending;
        }
        if (wake)
        {
            s.wake.notify_one();
        }
    }

    void flush_streams()
    {
        if (state().forked.load())
        {
            return; // sent as written
        }
        std::lock_guard<std::recursive_mutex> lock(state().publish);
        flush_streams_locked();
    }

    void open_output()
    {
        output_state& s = state();
        {
            std::lock_guard<std::recursive_mutex> lock(s.publish);
            s.open.store(true);
        }
        s.relay = new fork_relay([](const std::string& name, std::string_view text)
                                 { write_stream(name, text); });
        static std::once_flag fork_handlers;
        std::call_once(fork_handlers,
                       [] { pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child); });
        // Started from the main thread, which holds every async signal off while no cell runs:
        // the thread inherits that mask, so signals never interrupt its sends.
        s.publisher = std::thread(publisher_loop);
        s.wake.notify_one();
    }

    void close_output()
    {
        output_state& s = state();
        if (s.forked.load())
        {
            return; // none of the kernel's threads are here
        }
        {
            std::lock_guard<std::recursive_mutex> lock(s.publish);
            flush_streams_locked();
            s.open.store(false);
            s.closed.store(true);
        }
        {
            std::lock_guard<std::mutex> lock(s.buffer);
            s.stopping = true;
        }
        s.wake.notify_one();
        if (s.publisher.joinable())
        {
            s.publisher.join();
        }
        delete std::exchange(s.relay, nullptr);
    }
} // namespace xparallel
