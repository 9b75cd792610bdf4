#include "xworker.hpp"

#include "xparallel/xsubinterpreter.hpp"

namespace xparallel
{
    namespace detail
    {
        // Runs on the worker's interrupter thread: raises KeyboardInterrupt in the worker for each
        // request, unless the item already took it in an interruptible sleep.
        void run_interrupter(pool::worker& w)
        {
            std::unique_lock lock(w.interrupt_mutex);
            while (true)
            {
                w.interrupt_requested.wait(
                    lock, [&] { return w.interrupts_closed || !w.interrupt_queue.empty(); });
                if (w.interrupts_closed)
                {
                    return;
                }
                const std::uint64_t job = w.interrupt_queue.front();
                w.interrupt_queue.pop_front();
                // A sleeping item wakes by itself (the request notified it): no async exception
                // is needed then, and one would land later, in the item's own error handling.
                w.interrupt_requested.wait_for(lock, std::chrono::milliseconds(50),
                                               [&] {
                                                   return w.interrupts_closed || !w.sleeping ||
                                                          w.woken_job.load() == job;
                                               });
                if (w.interrupts_closed)
                {
                    return;
                }
                if (w.woken_job.load() == job)
                {
                    continue;
                }
                lock.unlock();
                // Holding the worker's GIL (it yields it between bytecodes, or in a blocking
                // call), so the check and the raise see one state of the worker.
                raise_keyboard_interrupt(w.interp.load(), w.thread_id.load(),
                                         [&]
                                         {
                                             std::lock_guard guard(w.interrupt_mutex);
                                             if (w.woken_job.load() == job)
                                             {
                                                 return false;
                                             }
                                             if (w.wake_job == job)
                                             {
                                                 w.wake_job = 0; // one interrupt, one exception
                                             }
                                             return w.in_chunk.load() &&
                                                    w.current_job.load() == job;
                                         });
                lock.lock();
            }
        }

        // Called from the main thread; never blocks on the worker.
        void request_interrupt(pool::worker& w, std::uint64_t job)
        {
            std::lock_guard lock(w.interrupt_mutex);
            if (w.interrupts_closed || !w.interp.load())
            {
                return;
            }
            w.wake_job = job;
            w.interrupt_queue.push_back(job);
            if (!w.interrupter.joinable())
            {
                w.interrupter = thread_without_sigint([&w] { run_interrupter(w); });
            }
            w.sleep_wake.notify_all();
            w.interrupt_requested.notify_all();
        }
    } // namespace detail
} // namespace xparallel
