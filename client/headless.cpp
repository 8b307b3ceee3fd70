#include "client/headless.hpp"

#include <unistd.h>
#include <cstdio>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/read_until.hpp>

#include "client/command.hpp"
#include "core/log.hpp"
#include "core/overloaded.hpp"
#include "peer/detail/coro.hpp"

namespace confab::client {

namespace {

// A line longer than this is not a command anyone typed; it is dropped with an error.
constexpr std::size_t max_line_bytes = 1024 * 1024;
// How long end of input waits for a first neighbour to take messages written before it.
constexpr auto drain_limit = std::chrono::seconds(5);

nlohmann::ordered_json peer_json(const peer::peer_info& p) {
    return {{"peer_id", p.peer_id}, {"nick", p.nick}, {"addr", p.addr}};
}

nlohmann::ordered_json file_json(const peer::file_info& f) {
    return {{"transfer", f.transfer}, {"room", f.room},   {"name", f.name},       {"size", f.size},
            {"sha256", f.sha256},     {"from", f.from},   {"peer_id", f.peer_id}, {"to", f.to},
            {"own", f.outgoing},      {"state", f.state}, {"bytes", f.bytes},     {"path", f.path}};
}

}  // namespace

// A duplicate of stdin, so that closing our descriptor never closes fd 0 itself.
headless_front::headless_front(asio::io_context& io) : io_(io), input_(io, ::dup(STDIN_FILENO)) {}

void headless_front::start(peer::node& node, std::function<void()> on_done) {
    node_ = &node;
    on_done_ = std::move(on_done);
    asio::co_spawn(io_, read_loop(), [this](std::exception_ptr e) {
        if (e) core::log(core::log_level::error, "headless", "reading commands failed");
        if (node_) node_->shutdown();
        if (on_done_) on_done_();
    });
}

void headless_front::stop() {
    quitting_ = true;
    signalled_ = true;
    std::error_code ignored;
    input_.close(ignored);
}

asio::awaitable<void> headless_front::read_loop() {
    std::string buffer;
    bool discarding = false;  // inside an over-long line, until its newline
    while (!quitting_) {
        auto [ec, n] = co_await asio::async_read_until(
            input_, asio::dynamic_buffer(buffer, max_line_bytes), '\n', peer::detail::use_nothrow);
        if (ec == asio::error::not_found) {
            // The buffer is full and holds no newline.
            if (!discarding) {
                on_error("input line longer than " + std::to_string(max_line_bytes) +
                         " bytes; ignored");
            }
            discarding = true;
            buffer.clear();
            continue;
        }
        if (ec) {
            // EOF: a last line without its newline is still a command.
            if (!buffer.empty() && !discarding && !quitting_) execute(buffer);
            break;
        }
        std::string line = buffer.substr(0, n - 1);
        buffer.erase(0, n);
        if (discarding) {
            discarding = false;
            continue;
        }
        execute(line);
    }
    // End of input or /quit (not a signal): what was written before must not be lost just
    // because the --join handshake had not finished yet.
    if (!signalled_) co_await node_->drain(drain_limit);
}

void headless_front::execute(const std::string& line) {
    // A diagnostic for scripts and bench/run, not a chat command: the terminal UI has nowhere
    // to show it, so it stays out of the command language both fronts share.
    if (line == "/stats" || line == "/stats\r") {
        emit_stats();
        return;
    }
    const command c = parse_command(line);
    if (run_shared(*node_, c)) return;
    std::visit(core::overloaded{
                   [&](const cmd_help&) {
                       emit({{"event", "help"}, {"text", help_text()}});
                   },
                   [&](const cmd_clear&) {
                       on_notice(
                           "/clear empties the terminal UI's message pane; "
                           "there is none in headless mode");
                   },
                   [&](const cmd_quit& q) {
                       if (!q.message.empty()) {
                           for (const auto& room : rooms()) {
                               node_->say_in(room.room, "leaves: " + q.message, true);
                           }
                       }
                       quitting_ = true;
                   },
                   [&](const cmd_error& e) { on_error(e.message); },
                   [](const auto&) {},  // blank line, or run on the node above
               },
               c);
}

void headless_front::emit(const nlohmann::ordered_json& event) {
    // Text from the network is validated UTF-8, but a nick from $USER need not be: replace,
    // never throw.
    std::string line = event.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
}

void headless_front::emit_stats() {
    const auto& s = node_->stats();
    const std::uint64_t rejected = node_->gate().rejected();
    nlohmann::ordered_json by_type = nlohmann::ordered_json::object();
    for (const auto& [type, count] : s.received_by_type) by_type[type] = count;
    const auto uptime = std::chrono::steady_clock::now() - started_;
    emit({{"event", "stats"},
          {"uptime_ms", std::chrono::duration_cast<std::chrono::milliseconds>(uptime).count()},
          {"chat_frames_received", s.chat_frames_received()},
          {"chat_delivered", chat_delivered_},
          {"chat_own", chat_own_},
          {"chat_rejected", rejected},
          {"frames_not_proven", s.frames_not_proven},
          {"bytes_received", s.bytes_received},
          {"bytes_sent", s.bytes_sent},
          {"frames_received", s.frames_received},
          {"frames_sent", s.frames_sent},
          {"frames_by_type", by_type}});
}

void headless_front::on_ready(const std::string& peer_id, const std::string& nick,
                              const std::string& listen, const std::string& room) {
    set_listen(listen);
    auto names = nlohmann::ordered_json::array();
    for (const auto& r : rooms()) names.push_back(r.room);
    emit({{"event", "ready"},
          {"peer_id", peer_id},
          {"nick", nick},
          {"listen", listen},
          {"room", room},
          {"rooms", names},
          {"open", current().open},
          {"invite", invite_to(current())}});
}

void headless_front::on_joined(const client::room_access& room) {
    emit({{"event", "joined"},
          {"room", room.room},
          {"open", room.open},
          {"invite", invite_to(room)}});
}

void headless_front::on_parted(const std::string& room) {
    emit({{"event", "parted"}, {"room", room}, {"current", current().room}});
}

void headless_front::on_switched(const client::room_access& room) {
    emit({{"event", "room"}, {"room", room.room}});
}

void headless_front::on_room_list() {
    auto list = nlohmann::ordered_json::array();
    for (const auto& r : rooms()) {
        list.push_back({{"room", r.room}, {"open", r.open}, {"current", &r == &current()}});
    }
    emit({{"event", "rooms"}, {"rooms", list}, {"current", current().room}});
}

void headless_front::on_invite(const client::room_access& room) {
    emit({{"event", "invite"},
          {"room", room.room},
          {"open", room.open},
          {"invite", invite_to(room)}});
}

void headless_front::on_peer_up(const peer::peer_info& peer) {
    nlohmann::ordered_json j{{"event", "peer_up"}};
    j.update(peer_json(peer));
    emit(j);
}

void headless_front::on_peer_down(const peer::peer_info& peer, const std::string& reason) {
    nlohmann::ordered_json j{{"event", "peer_down"}};
    j.update(peer_json(peer));
    j["reason"] = reason;
    emit(j);
}

void headless_front::on_message(const peer::chat_message& m) {
    ++(m.own ? chat_own_ : chat_delivered_);
    emit({{"event", "message"},
          {"id", m.id},
          {"room", m.room},
          {"from", m.from},
          {"peer_id", m.peer_id},
          {"text", m.text},
          {"ts", m.ts},
          {"own", m.own},
          {"action", m.action}});
}

void headless_front::on_nick(const std::string& peer_id, const std::string& old_nick,
                             const std::string& new_nick, bool own) {
    emit({{"event", "nick"},
          {"peer_id", peer_id},
          {"old", old_nick},
          {"nick", new_nick},
          {"own", own}});
}

void headless_front::on_peers(const std::vector<peer::peer_info>& peers, std::size_t connections) {
    auto list = nlohmann::ordered_json::array();
    for (const auto& p : peers) list.push_back(peer_json(p));
    emit({{"event", "peers"}, {"peers", list}, {"connections", connections}});
}

void headless_front::on_error(const std::string& message) {
    emit({{"event", "error"}, {"message", message}});
}

void headless_front::on_notice(const std::string& message) {
    emit({{"event", "notice"}, {"message", message}});
}

void headless_front::on_file_offer(const peer::file_info& offer) {
    nlohmann::ordered_json j{{"event", "file_offer"}};
    j.update(file_json(offer));
    emit(j);
}

void headless_front::on_file_progress(const peer::file_info& t) {
    emit({{"event", "file_progress"},
          {"transfer", t.transfer},
          {"bytes", t.bytes},
          {"size", t.size}});
}

void headless_front::on_file_received(const peer::file_info& t) {
    emit({{"event", "file_received"},
          {"transfer", t.transfer},
          {"path", t.path},
          {"size", t.size},
          {"sha256", t.sha256}});
}

void headless_front::on_file_sent(const peer::file_info& t, const std::string& to_nick,
                                  std::uint64_t bytes) {
    emit({{"event", "file_sent"},
          {"transfer", t.transfer},
          {"to", to_nick},
          {"bytes", bytes},
          {"size", t.size}});
}

void headless_front::on_file_failed(const peer::file_info& t, const std::string& reason,
                                    bool resumable) {
    emit({{"event", "file_failed"},
          {"transfer", t.transfer},
          {"reason", reason},
          {"resumable", resumable},
          {"bytes", t.bytes}});
}

void headless_front::on_files(const std::vector<peer::file_info>& transfers) {
    auto list = nlohmann::ordered_json::array();
    for (const auto& t : transfers) list.push_back(file_json(t));
    emit({{"event", "files"}, {"files", list}});
}

}  // namespace confab::client
