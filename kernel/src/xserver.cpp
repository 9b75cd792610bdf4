#include "xparallel/xserver.hpp"

#include <atomic>
#include <mutex>
#include <utility>

#include <poll.h>
#include <zmq.h>

#include <xeus-zmq/xcontrol_runner.hpp>
#include <xeus-zmq/xserver_zmq_split.hpp>
#include <xeus-zmq/xshell_default_runner.hpp>

#include "xparallel/xinterpreter.hpp"
#include "xparallel/xoutput.hpp"

namespace xparallel
{
    namespace
    {
        // xeus-zmq's default control loop blocks in a receive, so it only ends after a message.
        // This one wakes every 100 ms to see whether it was asked to stop.
        class control_runner final : public xeus::xcontrol_runner
        {
        private:
            void run_impl() override
            {
                const int fd = static_cast<int>(get_control_fd());
                while (!m_stop.load())
                {
                    if (auto message = read_control(ZMQ_DONTWAIT))
                    {
                        notify_control_listener(std::move(*message));
                        continue;
                    }
                    pollfd item{fd, POLLIN, 0};
                    ::poll(&item, 1, 100);
                }
                stop_channels();
            }

            void stop_impl() override { m_stop.store(true); }

            std::atomic<bool> m_stop{false};
        };

        std::atomic<control_runner*> the_control_runner{nullptr};
        nl::json history_request = nl::json::object();

        // Only the access type is left for xeus to parse; the rest is read from the original.
        xeus::xmessage keep_history_request(xeus::xmessage message)
        {
            history_request = message.content();
            nl::json parsed = nl::json::object();
            const auto kind = history_request.find("hist_access_type");
            const bool known = kind != history_request.end() && kind->is_string() &&
                               (*kind == "tail" || *kind == "range" || *kind == "search");
            parsed["hist_access_type"] = known ? kind->get<std::string>() : "tail";
            return xeus::xmessage(message.identities(), message.header(), message.parent_header(),
                                  message.metadata(), std::move(parsed), message.buffers());
        }

        class server final : public xeus::xserver
        {
        public:
            explicit server(std::unique_ptr<xeus::xserver> inner) : p_inner(std::move(inner))
            {
                p_inner->register_shell_listener(
                    [this](xeus::xmessage message)
                    {
                        const std::string kind = message.header().value("msg_type", "");
                        if (kind != "kernel_info_request")
                        {
                            wait_for_python_kernel();
                        }
                        if (kind == "history_request")
                        {
                            message = keep_history_request(std::move(message));
                        }
                        notify_shell_listener(std::move(message));
                    });
                p_inner->register_control_listener(
                    [this](xeus::xmessage message)
                    { notify_control_listener(std::move(message)); });
                p_inner->register_stdin_listener([this](xeus::xmessage message)
                                                 { notify_stdin_listener(std::move(message)); });
                p_inner->register_internal_listener(
                    [this](nl::json message)
                    { return notify_internal_listener(std::move(message)); });
            }

        private:
            xeus::xcontrol_messenger& get_control_messenger_impl() override
            {
                return p_inner->get_control_messenger();
            }
            void send_shell_impl(xeus::xmessage message) override
            {
                p_inner->send_shell(std::move(message));
            }
            void send_control_impl(xeus::xmessage message) override
            {
                p_inner->send_control(std::move(message));
            }
            void send_stdin_impl(xeus::xmessage message) override
            {
                p_inner->send_stdin(std::move(message));
            }
            void publish_impl(xeus::xpub_message message, xeus::channel c) override
            {
                std::lock_guard<std::recursive_mutex> lock(publish_mutex());
                p_inner->publish(std::move(message), c);
            }
            void start_impl(xeus::xpub_message message) override
            {
                open_output();
                p_inner->start(std::move(message));
            }
            void abort_queue_impl(const listener& l, long polling_interval) override
            {
                p_inner->abort_queue(l, polling_interval);
            }
            void stop_impl() override { p_inner->stop(); }
            void update_config_impl(xeus::xkernel_configuration& config) const override
            {
                p_inner->update_config(config);
            }

            std::unique_ptr<xeus::xserver> p_inner;
        };
    } // namespace

    std::unique_ptr<xeus::xserver> make_server(xeus::xcontext& context,
                                               const xeus::xconfiguration& config,
                                               nl::json::error_handler_t eh)
    {
        auto control = std::make_unique<control_runner>();
        the_control_runner.store(control.get());
        return std::make_unique<server>(
            xeus::make_xserver_shell(context, config, eh, std::move(control),
                                     std::make_unique<xeus::xshell_default_runner>()));
    }

    void request_kernel_stop()
    {
        if (control_runner* runner = the_control_runner.load())
        {
            runner->stop();
        }
    }

    const nl::json& current_history_request()
    {
        return history_request;
    }
} // namespace xparallel
