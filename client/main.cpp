// confab: one peer of a peer-to-peer group chat. Runs everything on one event loop.

#include <unistd.h>
#include <csignal>
#include <iostream>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include "client/cli.hpp"
#include "client/headless.hpp"
#include "core/data_dir.hpp"
#include "core/identity.hpp"
#include "core/log.hpp"
#include "peer/node.hpp"

using namespace confab;

namespace {

int run(const client::options& opts) {
    core::data_dir_lock lock(opts.data_dir, !opts.data_dir_explicit);
    if (lock.path() != opts.data_dir) {
        core::log(core::log_level::warn, "main", opts.data_dir.string(),
                  " is in use by another confab; using ", lock.path().string());
    }
    auto identity = core::identity::load_or_create(lock.path());

    peer::node_config config;
    config.nick = opts.nick;
    config.room = opts.room;
    config.listen = opts.listen;
    config.listen_explicit = opts.listen_explicit;
    config.joins = opts.joins;
    config.data_dir = lock.path();

    asio::io_context io{1};
    client::headless_front front(io);
    peer::node node(io, std::move(identity), config, front);

    // Created before anything else could install handlers (ncurses does, for SIGWINCH).
    asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
    signals.async_wait([&](const std::error_code& ec, int signal) {
        if (ec) return;
        core::log(core::log_level::info, "main", "signal ", signal, ": shutting down");
        front.stop();
        node.shutdown();
    });

    node.start();
    front.start(node, [&] {
        // Shutting down: the signals get their default action back, so that a second Ctrl-C
        // while the goodbyes are flushed ends the process at once.
        std::error_code ignored;
        signals.clear(ignored);
        signals.cancel(ignored);
    });
    // Returns when the work runs out: every link said bye and closed.
    io.run();
    return 0;
}

}  // namespace

int main(int argc, char** argv) try {
    // A closed stdout must not kill us mid-shutdown; writes report the error instead.
    std::signal(SIGPIPE, SIG_IGN);

    auto parsed = client::parse_cli(std::vector<std::string>(argv + 1, argv + argc));
    if (!parsed.opts) {
        std::cerr << "confab: " << parsed.error << "\n" << client::usage();
        return 2;
    }
    const auto& opts = *parsed.opts;
    if (opts.help) {
        std::cout << client::usage();
        return 0;
    }
    if (opts.version) {
        std::cout << "confab 0.1.0 (protocol 1)\n";
        return 0;
    }
    // In a terminal, logs share the screen with the chat: only what needs attention.
    core::set_log_level(opts.log_level_explicit || opts.headless ? opts.log_level
                                                                 : core::log_level::warn);
    if (!opts.headless) {
        // The terminal UI is its own piece of work; until it lands, the line-oriented front
        // serves people too.
        std::cerr << "confab: the terminal UI is not built yet; running headless "
                     "(type a line to send it, /help for commands)\n";
    }
    return run(opts);
} catch (const std::exception& e) {
    // Start-up failures (no HOME, data dir in use, port taken): one line, exit 1.
    std::cerr << "confab: " << e.what() << "\n";
    return 1;
}
