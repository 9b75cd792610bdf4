#ifndef XPARALLEL_XHISTORY_HPP
#define XPARALLEL_XHISTORY_HPP

#include <memory>

#include <xeus/xhistory_manager.hpp>

namespace xparallel
{
    // History requests answered by IPython's history (what the shell records as cells run), with
    // ipykernel's semantics for `tail`, `range` and `search` (`n`, `unique`, `raw`, `output`,
    // relative sessions): the Python kernel's `history` method gets the request as sent.
    std::unique_ptr<xeus::xhistory_manager> make_history_manager();
} // namespace xparallel

#endif
