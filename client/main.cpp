// confab: one peer of a peer-to-peer group chat. Runs everything on one event loop.

#include <fcntl.h>
#include <unistd.h>
#include <csignal>
#include <iostream>
#include <memory>
#include <optional>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include "client/cli.hpp"
#include "client/headless.hpp"
#include "client/room_access.hpp"
#include "client/tui/tui_front.hpp"
#include "core/data_dir.hpp"
#include "core/identity.hpp"
#include "core/log.hpp"
#include "peer/node.hpp"

using namespace confab;

namespace {

// The terminal UI owns the screen, so logs (and anything else written to stderr) go to
// DATA/confab.log while it runs. Put back on every way out, so that a start-up failure (a port
// in use) is still one line on the terminal.
class stderr_to_file {
public:
    explicit stderr_to_file(const std::filesystem::path& file) {
        const int log = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (log < 0) return;
        saved_ = ::dup(STDERR_FILENO);
        ::dup2(log, STDERR_FILENO);
        ::close(log);
    }
    ~stderr_to_file() {
        if (saved_ < 0) return;
        ::dup2(saved_, STDERR_FILENO);
        ::close(saved_);
    }
    stderr_to_file(const stderr_to_file&) = delete;
    stderr_to_file& operator=(const stderr_to_file&) = delete;

private:
    int saved_ = -1;
};

int run(const client::options& opts, const std::optional<std::string>& passphrase, bool use_tui) {
    core::data_dir_lock lock(opts.data_dir, !opts.data_dir_explicit);
    if (lock.path() != opts.data_dir) {
        core::log(core::log_level::warn, "main", opts.data_dir.string(),
                  " is in use by another confab; using ", lock.path().string());
    }
    auto identity = core::identity::load_or_create(lock.path());
    const client::room_policy policy{opts.open, passphrase, lock.path()};
    auto rooms = client::settle_room_access(opts, policy);

    peer::node_config config;
    config.nick = opts.nick;
    config.room = rooms.front().room;
    config.room_keys = rooms.front().keys;
    config.listen = opts.listen;
    config.listen_explicit = opts.listen_explicit;
    config.joins = opts.joins;
    config.data_dir = lock.path();
    config.files.downloads_dir = opts.downloads;
    config.files.auto_accept = opts.accept_files;
    config.files.max_file_size = opts.max_file_size;
    config.files.worker.upload_limit = opts.upload_limit;
    config.author_rate = opts.max_rate;
    config.author_burst = 10.0 * opts.max_rate;

    asio::io_context io{1};
    // Created before the terminal UI: curses installs its own handlers for these unless
    // someone already has.
    asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);

    std::optional<stderr_to_file> redirected;
    std::unique_ptr<client::front> front;
    if (use_tui) {
        const auto log_file = lock.path() / "confab.log";
        redirected.emplace(log_file);
        front = std::make_unique<client::tui::tui_front>(io, config.room, opts.nick, lock.path());
        core::log(core::log_level::info, "main", "terminal UI started; logs go to ",
                  log_file.string());
    } else {
        front = std::make_unique<client::headless_front>(io);
    }
    // Before the node starts: its ready event carries the invite.
    front->set_rooms(rooms, policy);
    peer::node node(io, std::move(identity), config, *front);

    signals.async_wait([&](const std::error_code& ec, int signal) {
        if (ec) return;
        core::log(core::log_level::info, "main", "signal ", signal, ": shutting down");
        front->stop();
        node.shutdown();
    });

    node.start();
    for (std::size_t i = 1; i < rooms.size(); ++i) node.join_room(rooms[i].keys, {});
    front->start(node, [&] {
        // Shutting down headless: the signals get their default action back, so that a second
        // Ctrl-C while the goodbyes are flushed ends the process at once. The terminal UI
        // keeps them caught (and ignored): dying there would leave the terminal raw, and the
        // flush is bounded anyway.
        std::error_code ignored;
        if (!use_tui) signals.clear(ignored);
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
        std::cerr << "confab: " << parsed.error << "\n";
        if (parsed.show_usage) std::cerr << client::usage();
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
    // The terminal UI needs a terminal on both ends; piped, confab is the headless front.
    const bool use_tui = !opts.headless && ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO);
    if (!opts.headless && !use_tui) {
        std::cerr << "confab: stdin or stdout is not a terminal; running headless (JSON events "
                     "on stdout; --headless says so explicitly)\n";
    }
    if (use_tui && opts.rooms.size() > 1) {
        std::cerr << "confab: the terminal UI shows one room; give one --room or --invite (with "
                     "--headless a peer can be in several)\n";
        return 2;
    }
    // A bad passphrase file is a usage error like a bad flag: said before anything starts.
    std::optional<std::string> passphrase;
    if (!opts.secret_file.empty()) {
        std::string error;
        passphrase = client::read_passphrase_file(opts.secret_file, &error);
        if (!passphrase) {
            std::cerr << "confab: --secret-file: " << error << "\n";
            return 2;
        }
    }
    core::set_log_level(opts.log_level);
    return run(opts, passphrase, use_tui);
} catch (const std::exception& e) {
    // Start-up failures (no HOME, data dir in use, port taken): one line, exit 1.
    std::cerr << "confab: " << e.what() << "\n";
    return 1;
}
