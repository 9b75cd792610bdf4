#ifndef XPARALLEL_XSUBINTERPRETER_HPP
#define XPARALLEL_XSUBINTERPRETER_HPP

#include <Python.h>

#include <functional>

namespace xparallel
{
    // A CPython sub-interpreter with its own GIL (PEP 684), owned by the thread that made it.
    //
    // Made on a thread that holds no thread state: the thread takes a main-interpreter thread
    // state for the creation (so the main thread must not hold the main GIL meanwhile), then
    // drops it. Afterwards the thread holds the new interpreter's GIL. It must be destroyed on the
    // same thread, holding that GIL, with no other thread state of it left.
    class subinterpreter
    {
    public:
        subinterpreter();
        ~subinterpreter();
        subinterpreter(const subinterpreter&) = delete;
        subinterpreter& operator=(const subinterpreter&) = delete;

        PyInterpreterState* interpreter() const noexcept { return p_state->interp; }
        PyThreadState* thread_state() const noexcept { return p_state; }

    private:
        PyThreadState* p_state = nullptr;
    };

    // RAII: releases the calling thread's GIL (of whichever interpreter) for a blocking wait.
    class gil_released
    {
    public:
        gil_released() : p_state(PyEval_SaveThread()) {}
        ~gil_released() { PyEval_RestoreThread(p_state); }
        gil_released(const gil_released&) = delete;
        gil_released& operator=(const gil_released&) = delete;

    private:
        PyThreadState* p_state;
    };

    // RAII: a temporary thread state of `interp` attached on the calling thread (which holds no
    // other), i.e. that interpreter's GIL is held for the lifetime of this object.
    class foreign_thread_state
    {
    public:
        explicit foreign_thread_state(PyInterpreterState* interp);
        ~foreign_thread_state();
        foreign_thread_state(const foreign_thread_state&) = delete;
        foreign_thread_state& operator=(const foreign_thread_state&) = delete;

    private:
        PyThreadState* p_state;
    };

    // Raises KeyboardInterrupt in the thread `thread_id` of `interp`, from a thread that holds no
    // thread state, if `still_wanted()` (called while holding that interpreter's GIL, so the target
    // is between two bytecodes or in a blocking call) says so. Returns whether it raised.
    bool raise_keyboard_interrupt(PyInterpreterState* interp, unsigned long thread_id,
                                  const std::function<bool()>& still_wanted);
} // namespace xparallel

#endif
