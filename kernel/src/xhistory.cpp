#include "xparallel/xhistory.hpp"

#include <string>

#include <xeus/xinterpreter.hpp>

#include "xparallel/xinterpreter.hpp"
#include "xparallel/xserver.hpp"

namespace xparallel
{
    namespace
    {
        class history_manager final : public xeus::xhistory_manager
        {
        private:
            void configure_impl() override {}
            // IPython's shell stores each cell itself as it runs it.
            void store_inputs_impl(int, int, const std::string&, const std::string&) override {}
            nl::json get_tail_impl(int, bool, bool) const override { return answer(); }
            nl::json get_range_impl(int, int, int, bool, bool) const override { return answer(); }
            nl::json search_impl(const std::string&, bool, bool, int, bool) const override
            {
                return answer();
            }

            static nl::json answer()
            {
                auto& kernel = static_cast<interpreter&>(xeus::get_interpreter());
                return kernel.history(current_history_request());
            }
        };
    } // namespace

    std::unique_ptr<xeus::xhistory_manager> make_history_manager()
    {
        return std::make_unique<history_manager>();
    }
} // namespace xparallel
