#include "peer/node.hpp"

#include <algorithm>
#include <deque>
#include <random>
#include <cassert>
#include <exception>
#include <system_error>

#include <asio/co_spawn.hpp>

#include "core/atomic_file.hpp"
#include "core/envelope_signature.hpp"
#include "core/log.hpp"
#include "core/message_id.hpp"
#include "core/overloaded.hpp"
#include "peer/detail/spawn.hpp"
#include "protocol/validate.hpp"

namespace confab::peer {

namespace {

using clock = std::chrono::steady_clock;
using detail::log_exceptions;

constexpr const char* component = "peer";
// Sequence numbers are reserved on disk in blocks, so that a crash skips numbers but never
// reuses one, at the cost of one small write per block.
constexpr std::uint64_t seq_block = 1000;
// Messages written while no neighbour is connected wait for one, up to this many.
constexpr std::size_t max_outbox = 1000;

std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

node::node(asio::io_context& io, core::identity identity, node_config config, event_sink& sink)
    : io_(io),
      identity_(std::move(identity)),
      credentials_(std::make_shared<const tls_credentials>(identity_)),
      config_(std::move(config)),
      sink_(sink),
      loop_thread_(std::this_thread::get_id()),
      nick_(config_.nick),
      overlay_timer_(io),
      drain_timer_(io),
      presence_timer_(io),
      gate_([this] {
          core::chat_gate_config c;
          c.author_rate = config_.author_rate;
          c.author_burst = config_.author_burst;
          c.author_patience = config_.author_patience;
          return c;
      }()),
      connector_(io, identity_.peer_id(), *credentials_, config_, sink, stats_, connector_hooks()),
      neighbours_(connector_.neighbours()),
      transfers_(io,
                 [this] {
                     auto files = config_.files;
                     files.state_file = config_.data_dir / "transfers.json";
                     files.worker.credentials = credentials_;
                     return files;
                 }(),
                 sink, transfer_hooks()) {
    // A config built without keys (tests, embedders) is an open room, not a broken one.
    if (config_.room_keys.room_id.empty()) config_.room_keys = core::open_room_keys(config_.room);
    // Each room's overlay draws from its own seeded generator: no global randomness inside.
    std::random_device seed;
    const auto& keys = config_.room_keys;
    rooms_.emplace(keys.room_id,
                   room_state{keys, core::overlay::room_overlay(
                                        identity_.peer_id(), keys.room_id, config_.overlay,
                                        (std::uint64_t{seed()} << 32) | seed())});
    connector_.add_room(keys);
    auto state_path = config_.data_dir / "state.json";
    std::error_code ec;
    if (std::filesystem::exists(state_path, ec)) {
        try {
            auto state = nlohmann::json::parse(core::read_file(state_path));
            seq_ = state.at("seq_reserved").get<std::uint64_t>();
            seq_reserved_ = seq_;
        } catch (const std::exception& e) {
            // Losing it only risks reusing sequence numbers after a crash: warn, go on.
            core::log(core::log_level::warn, component, "ignoring ", state_path.string(), ": ",
                      e.what());
        }
    }
}

void node::assert_loop_thread() const {
    assert(std::this_thread::get_id() == loop_thread_);
}

void node::start() {
    assert_loop_thread();
    connector_.listen();
    transfers_.start(peer_id(), config_.listen.host);
    connector_.load_address_book();
    // Peers met before are the rooms' first passive peers: a restarted peer finds its room
    // again without the address it was started with.
    std::vector<protocol::peer_address> known;
    for (const auto& e : connector_.book().entries()) {
        if (!e.peer_id.empty() && !e.self) known.push_back({e.peer_id, e.addr});
    }
    const auto now = clock::now();
    for (auto& [id, room] : rooms_) {
        core::overlay::actions out;
        room.overlay.add_known(known, now, out);
        execute(id, out);
    }

    connector_.start();
    asio::co_spawn(io_, overlay_loop(), log_exceptions("room overlays"));
    asio::co_spawn(io_, presence_loop(), log_exceptions("room presence"));
}

asio::awaitable<void> node::overlay_loop() {
    while (!stopping_) {
        const auto now = clock::now();
        for (auto& [id, room] : rooms_) {
            auto wake = room.overlay.next_wake();
            if (!wake || *wake > now) continue;
            core::overlay::actions out;
            room.overlay.tick(now, out);
            execute(id, out);
        }
        std::optional<clock::time_point> wake;
        for (const auto& [id, room] : rooms_) {
            auto w = room.overlay.next_wake();
            if (w && (!wake || *w < *wake)) wake = w;
        }
        overlay_timer_.expires_at(wake ? std::max(*wake, now) : clock::time_point::max());
        co_await overlay_timer_.async_wait(detail::use_nothrow);
    }
}

void node::rearm_overlays() {
    if (stopping_) return;
    for (const auto& [id, room] : rooms_) {
        auto w = room.overlay.next_wake();
        if (w && *w < overlay_timer_.expiry()) {
            overlay_timer_.cancel();  // the loop looks again and sets the earlier time
            return;
        }
    }
}

void node::on_link_message(peer_link& l, const std::string& peer_id, protocol::message& msg,
                           const std::string& payload) {
    std::visit(core::overloaded{
                   [&](protocol::chat& chat) { on_chat(l, peer_id, chat, payload); },
                   [&](protocol::rooms& claims) { connector_.on_rooms(l, peer_id, claims); },
                   [&](protocol::nick& renamed) {
                       auto old = connector_.rename(l, peer_id, renamed.nick);
                       if (old && *old != renamed.nick) {
                           sink_.on_nick(peer_id, *old, renamed.nick, false);
                       }
                   },
                   [](protocol::hello&) {},
                   [](protocol::ping&) {},
                   [](protocol::pong&) {},
                   [](protocol::bye&) {},
                   [](protocol::error&) {},
                   [&](auto& overlay) {
                       on_overlay_frame(l, peer_id, core::overlay::overlay_frame(overlay));
                   },
               },
               msg);
}

void node::not_proven(peer_link& from, const std::string& from_id, const std::string& what) {
    // An honest peer sends a room's frames only where both ends proved the room: anything
    // else would carry a room's traffic through a peer outside it.
    ++stats_.frames_not_proven;
    core::log(core::log_level::warn, component, "neighbour ", from_id, " sent ", what,
              " on a link not proven for that room; closing it");
    from.send(make_frame(protocol::error{what + ": that room was not proven on this link"}));
    from.close("sent " + what + " for a room not proven on this link", "room not proven");
}

void node::on_overlay_frame(peer_link& from, const std::string& from_id,
                            const core::overlay::overlay_frame& frame) {
    const auto& room_id = core::overlay::room_of(frame);
    auto n = neighbours_.find(from_id);
    auto room = rooms_.find(room_id);
    if (n == neighbours_.end() || !n->second.rooms.count(room_id) || room == rooms_.end()) {
        if (!just_parted(room_id)) not_proven(from, from_id, "an overlay frame");
        return;
    }
    core::overlay::actions out;
    room->second.overlay.on_frame(from_id, frame, clock::now(), out);
    execute(room_id, out);
    // The neighbour left the room: the link no longer carries it, until a new claim.
    if (auto* d = std::get_if<protocol::disconnect>(&frame); d && !d->alive) {
        connector_.withdraw(from_id, room_id);
    }
}

bool node::just_parted(const std::string& room_id) {
    const auto now = clock::now();
    std::erase_if(parted_, [&](const auto& p) { return now - p.second.second > parted_grace; });
    return parted_.count(room_id) != 0;
}

void node::on_chat(peer_link& from, const std::string& from_id, protocol::chat& chat,
                   const std::string& payload) {
    // The room the envelope names must be one both ends proved on this link.
    auto n = neighbours_.find(from_id);
    std::string room_id;
    if (n != neighbours_.end()) {
        for (const auto& id : n->second.rooms) {
            auto r = rooms_.find(id);
            if (r != rooms_.end() && r->second.keys.room == chat.env.room) room_id = id;
        }
    }
    if (room_id.empty()) {
        const auto parted = std::find_if(parted_.begin(), parted_.end(), [&](const auto& p) {
            return p.second.first == chat.env.room;
        });
        if (parted == parted_.end() || !just_parted(parted->first)) {
            not_proven(from, from_id, "a chat message");
        }
        return;
    }
    auto& room = rooms_.at(room_id);
    auto verdict = gate_.check(chat, from_id, clock::now(), now_ms());
    auto& id = verdict.id;
    switch (verdict.outcome) {
    case core::chat_outcome::accept: break;
    case core::chat_outcome::duplicate: {
        core::overlay::actions out;
        room.overlay.on_duplicate_chat(from_id, chat.env.author, out);
        execute(room_id, out);
        return;
    }
    case core::chat_outcome::over_rate: {
        const auto dropped = gate_.count(core::chat_outcome::over_rate);
        if (dropped == 1 || dropped % 1000 == 0) {
            core::log(core::log_level::warn, component, "author ", chat.env.author,
                      " writes more than ", static_cast<long>(config_.author_rate),
                      " messages a second: dropped ", dropped, " so far");
        }
        if (verdict.cut != core::chat_bye::none) {
            from.close("flooding: wrote more than " +
                           std::to_string(static_cast<long>(config_.author_rate)) +
                           " messages a second for too long",
                       std::string(to_string(verdict.cut)));
        }
        return;
    }
    case core::chat_outcome::bad_signature:
    case core::chat_outcome::from_future: {
        auto it = neighbours_.find(from_id);
        const std::string& from_nick = it == neighbours_.end() ? from_id : it->second.info.nick;
        core::log(core::log_level::warn, component, "dropped chat message ", id, " (author ",
                  chat.env.author, ", seq ", chat.env.seq, ") from neighbour ", from_nick, " (",
                  from_id, "): ", verdict.problem);
        if (verdict.cut != core::chat_bye::none) {
            from.send(make_frame(
                protocol::error{"refused chat message " + id + ": " + verdict.problem}));
            const bool signature = verdict.outcome == core::chat_outcome::bad_signature;
            from.close(signature ? "sent a chat message with an invalid signature (" +
                                       verdict.problem + ")"
                                 : "sent a chat message " + verdict.problem,
                       std::string(to_string(verdict.cut)));
        }
        return;
    }
    }
    if (verdict.equivocation) {
        core::log(core::log_level::warn, component, "peer ", chat.env.author,
                  " is equivocating: two messages with seq ", chat.env.seq, " (the second is ", id,
                  ")");
    }
    // Onward with one more hop; the envelope (and so the id) is unchanged. One frame for
    // every link it goes on: the received bytes with the new hops when they are laid out as
    // we write chats (the envelope is not written again), else the parsed chat serialised.
    const std::uint32_t hops = std::min<std::uint32_t>(chat.hops, 65534) + 1;
    chat.hops = hops;
    auto relayed = protocol::chat_with_hops(payload, hops);
    auto frame = relayed ? std::make_shared<const std::string>(protocol::encode_frame(*relayed))
                         : make_frame(chat);
    core::overlay::actions out;
    room.overlay.on_new_chat(from_id, id, chat.env.author, std::move(frame), hops, clock::now(),
                             out);
    execute(room_id, out);
    if (chat.env.kind == protocol::presence_kind) {
        on_presence(room_id, chat.env, id);  // never shown as a message
        return;
    }
    if (chat.env.kind == protocol::file_offer_kind) {
        std::string error;
        if (auto offer = protocol::parse_file_offer(chat.raw, &error)) {
            transfers_.on_offer(chat.env.room, chat.env.author, chat.env.nick, *offer);
            return;
        }
        // Forwarded all the same (others may read it); here it is shown as its text.
        core::log(core::log_level::info, component, "ignoring the offer in ", id, ": ", error);
    }
    sink_.on_message({std::move(id), chat.env.room, chat.env.nick, chat.env.author, chat.env.body,
                      chat.env.ts, false, chat.env.kind == "action"});
}

void node::execute(const std::string& room_id, core::overlay::actions& actions) {
    namespace ov = core::overlay;
    // Carrying out an action can lead to more (a connect to a peer already linked): worked
    // off in order, here.
    std::deque<ov::action> work(std::make_move_iterator(actions.begin()),
                                std::make_move_iterator(actions.end()));
    actions.clear();
    auto room = rooms_.find(room_id);
    if (room == rooms_.end()) return;
    auto& overlay = room->second.overlay;
    auto link_of = [this](const std::string& peer) -> peer_link* {
        auto it = neighbours_.find(peer);
        return it == neighbours_.end() ? nullptr : it->second.link;
    };
    std::vector<std::string> released;
    while (!work.empty()) {
        auto a = std::move(work.front());
        work.pop_front();
        if (auto* s = std::get_if<ov::send_frame>(&a)) {
            if (auto* l = link_of(s->to)) {
                // ihave, the most frequent, is written without first being copied into a message.
                const auto* have = std::get_if<protocol::ihave>(&s->frame);
                l->send(have ? std::make_shared<const std::string>(
                                   protocol::encode_frame(protocol::serialize(*have)))
                             : make_frame(std::visit(
                                   [](const auto& f) { return protocol::message(f); }, s->frame)));
            }
        } else if (auto* f = std::get_if<ov::forward_chat>(&a)) {
            if (auto* l = link_of(f->to)) l->send(f->frame);
        } else if (auto* c = std::get_if<ov::connect_peer>(&a)) {
            const auto& peer = c->peer.peer_id;
            auto n = neighbours_.find(peer);
            if (n != neighbours_.end() && n->second.link) {
                if (n->second.rooms.count(room_id)) {
                    ov::actions more;
                    overlay.link_up(peer, n->second.advertised, false, clock::now(), more);
                    work.insert(work.end(), std::make_move_iterator(more.begin()),
                                std::make_move_iterator(more.end()));
                } else {
                    // Linked for other rooms: prove this one on the same link.
                    // (No answer if it is not in the room: the membership's connect
                    // timeout then counts it as failed.)
                    connector_.claim(peer, room_id);
                }
            } else {
                connector_.dial_for(c->peer, room_id);
            }
        } else if (auto* r = std::get_if<ov::release_peer>(&a)) {
            released.push_back(r->peer);
        } else if (auto* up = std::get_if<ov::neighbor_up>(&a)) {
            core::log(core::log_level::debug, component, "room ", room->second.keys.room,
                      ": neighbour ", up->peer);
            flush_outbox(room_id);
            // The room's first neighbour: this peer says it is in the room (presence_loop).
            members_of(room_id).linked(clock::now());
            poke_presence();
        } else if (auto* down = std::get_if<ov::neighbor_down>(&a)) {
            core::log(core::log_level::debug, component, "room ", room->second.keys.room,
                      ": no longer neighbour ", down->peer);
            if (overlay.members().active().empty()) members_of(room_id).unlinked();
        }
    }
    // After the frames that go before them (a disconnect says why).
    for (const auto& peer : released) {
        if (link_in_use(peer)) continue;
        if (auto* l = link_of(peer)) l->close("no room needs this link", "unused");
    }
    rearm_overlays();
}

void node::rooms_linked(const std::string& peer, const std::set<std::string>& rooms,
                        bool contact) {
    auto n = neighbours_.find(peer);
    if (n == neighbours_.end()) return;
    const auto now = clock::now();
    for (const auto& room_id : rooms) {
        auto it = rooms_.find(room_id);
        if (it == rooms_.end()) continue;
        core::overlay::actions out;
        it->second.overlay.link_up(peer, n->second.advertised, contact, now, out);
        execute(room_id, out);
    }
}

void node::rooms_unlinked(const std::string& peer, const std::set<std::string>& rooms) {
    if (stopping_) return;
    const auto now = clock::now();
    for (const auto& room_id : rooms) {
        auto it = rooms_.find(room_id);
        if (it == rooms_.end()) continue;
        core::overlay::actions out;
        it->second.overlay.link_down(peer, now, out);
        execute(room_id, out);
    }
}

bool node::link_in_use(const std::string& peer) const {
    return std::any_of(rooms_.begin(), rooms_.end(), [&](const auto& r) {
        return r.second.overlay.members().uses(peer);
    });
}

void node::say(const std::string& text, bool action) {
    say_in(config_.room, text, action);
}

void node::say_in(const std::string& room, const std::string& text, bool action) {
    assert_loop_thread();
    if (auto problem = protocol::check_body(text); !problem.empty()) {
        sink_.on_error(problem);
        return;
    }
    protocol::envelope env{room, peer_id(), nick_, 0, 0, text, action ? "action" : ""};
    std::string id;
    if (!publish(env, nullptr, &id)) return;
    sink_.on_message(
        {std::move(id), env.room, env.nick, env.author, env.body, env.ts, true, action});
    tell_if_waiting();
}

void node::join_room(const core::room_keys& keys,
                     const std::vector<protocol::host_port>& contacts) {
    assert_loop_thread();
    if (rooms_.count(keys.room_id)) return;
    for (const auto& [id, room] : rooms_) {
        if (room.keys.room == keys.room) {
            sink_.on_error("already in a room called \"" + keys.room + "\" with another secret");
            return;
        }
    }
    std::random_device seed;
    auto& room = rooms_
                     .emplace(keys.room_id,
                              room_state{keys, core::overlay::room_overlay(
                                                   peer_id(), keys.room_id, config_.overlay,
                                                   (std::uint64_t{seed()} << 32) | seed())})
                     .first->second;
    // Every neighbour hears the claim; those in the room answer with theirs, and the first to
    // answer is our way in (see connector::on_rooms).
    connector_.add_room(keys);
    std::vector<protocol::peer_address> known;
    for (const auto& e : connector_.book().entries()) {
        if (!e.peer_id.empty() && !e.self) known.push_back({e.peer_id, e.addr});
    }
    core::overlay::actions out;
    room.overlay.add_known(known, clock::now(), out);
    execute(keys.room_id, out);
    for (const auto& contact : contacts) connect(contact);
}

void node::part_room(const std::string& name) {
    assert_loop_thread();
    auto room = std::find_if(rooms_.begin(), rooms_.end(),
                             [&](const auto& r) { return r.second.keys.room == name; });
    if (room == rooms_.end()) {
        sink_.on_error("not in room \"" + name + "\"");
        return;
    }
    const std::string id = room->first;
    announce(id, protocol::presence::leave);  // before the disconnects: the same links carry it
    core::overlay::actions out;
    room->second.overlay.leave(out);
    // Said and released while the room is still there to say it; links that served only this
    // room close once it is gone.
    execute(id, out);
    parted_[id] = {room->second.keys.room, clock::now()};
    rooms_.erase(room);
    outbox_.erase(id);
    members_.erase(id);
    connector_.remove_room(id);
}

std::vector<std::string> node::rooms() const {
    std::vector<std::string> names{config_.room};
    for (const auto& [id, room] : rooms_) {
        if (room.keys.room != config_.room) names.push_back(room.keys.room);
    }
    if (!rooms_.count(config_.room_keys.room_id)) names.erase(names.begin());
    return names;
}

// After the message it is about, not before it.
void node::tell_if_waiting() {
    if (!waiting_notice_) return;
    waiting_notice_ = false;
    sink_.on_notice("no peer is connected yet; the message goes out when one is");
}

bool node::publish(protocol::envelope& env, const nlohmann::json& file, std::string* id) {
    auto room = std::find_if(rooms_.begin(), rooms_.end(),
                             [&](const auto& r) { return r.second.keys.room == env.room; });
    if (room == rooms_.end()) {
        sink_.on_error("not in room \"" + env.room + "\"");
        return false;
    }
    auto& queued = outbox_[room->first];
    const bool alone = room->second.overlay.members().active().empty();
    if (alone && queued.size() >= max_outbox) {
        sink_.on_error("not sent: no peer is connected and " + std::to_string(max_outbox) +
                       " messages are already waiting for one");
        return false;
    }
    env.seq = next_seq();
    env.ts = now_ms();
    protocol::chat chat{0, env, protocol::envelope_to_json(env)};
    if (!file.is_null()) chat.raw["file"] = file;
    core::sign_envelope(identity_, chat.raw);
    *id = core::message_id(chat.raw);
    gate_.mark_own(*id);
    auto frame = make_frame(chat);
    if (alone) {
        // Nobody to hand it to yet (a script that writes one line right after starting, or
        // a peer whose neighbours all left): it goes out to the room's next neighbour.
        queued.emplace_back(*id, std::move(frame));
        waiting_notice_ = true;
        return true;
    }
    core::overlay::actions out;
    room->second.overlay.publish(*id, std::move(frame), clock::now(), out);
    execute(room->first, out);
    return true;
}

void node::flush_outbox(const std::string& room_id) {
    auto it = outbox_.find(room_id);
    auto room = rooms_.find(room_id);
    if (it == outbox_.end() || it->second.empty() || room == rooms_.end()) return;
    auto queued = std::move(it->second);
    outbox_.erase(it);
    const auto now = clock::now();
    for (auto& [id, frame] : queued) {
        core::overlay::actions out;
        room->second.overlay.publish(id, std::move(frame), now, out);
        execute(room_id, out);
    }
    drain_timer_.cancel();
}

transfers::hooks node::transfer_hooks() {
    transfers::hooks h;
    h.publish_offer = [this](const std::string& room, const std::string& body,
                             const nlohmann::json& file) {
        protocol::envelope env{room, peer_id(), nick_, 0, 0, body, protocol::file_offer_kind};
        std::string id;
        publish(env, file, &id);
        tell_if_waiting();
    };
    h.find_nick = [this](const std::string& nick, std::string* error) {
        std::string found;
        for (const auto& [id, n] : neighbours_) {
            if (n.info.nick != nick) continue;
            if (!found.empty()) {
                *error = "two connected peers are called " + nick;
                return std::string();
            }
            found = id;
        }
        if (found.empty()) *error = "no connected peer is called " + nick + " (/peers lists them)";
        return found;
    };
    h.nick_of = [this](const std::string& id) {
        if (id == peer_id()) return nick_;
        auto it = neighbours_.find(id);
        return it == neighbours_.end() ? id.substr(0, 8) : it->second.info.nick;
    };
    h.host_of = [this](const std::string& id) {
        auto it = neighbours_.find(id);
        if (it == neighbours_.end() || !it->second.link) return std::string();
        std::string error;
        auto addr = protocol::parse_host_port(it->second.info.addr, &error);
        return addr ? addr->host : std::string();
    };
    h.our_hosts = [this] {
        std::vector<std::string> hosts;
        for (const auto& [id, n] : neighbours_) {
            if (!n.local_host.empty() &&
                std::find(hosts.begin(), hosts.end(), n.local_host) == hosts.end()) {
                hosts.push_back(n.local_host);
            }
        }
        return hosts;
    };
    return h;
}

void node::send_file(const std::string& args, const std::string& room) {
    assert_loop_thread();
    transfers_.send(args, room.empty() ? config_.room : room);
}

void node::accept_file(const std::string& id) {
    assert_loop_thread();
    transfers_.accept(id);
}

void node::reject_file(const std::string& id) {
    assert_loop_thread();
    transfers_.reject(id);
}

void node::cancel_file(const std::string& id) {
    assert_loop_thread();
    transfers_.cancel(id);
}

void node::list_files() {
    assert_loop_thread();
    transfers_.list();
}

asio::awaitable<void> node::drain(std::chrono::steady_clock::duration limit) {
    const auto deadline = clock::now() + limit;
    auto waiting = [this] {
        std::size_t n = 0;
        for (const auto& [room, queued] : outbox_) n += queued.size();
        return n;
    };
    while (waiting() > 0 && !stopping_ && clock::now() < deadline) {
        drain_timer_.expires_at(deadline);
        co_await drain_timer_.async_wait(detail::use_nothrow);
    }
    if (const auto n = waiting(); n > 0) {
        sink_.on_error(std::to_string(n) +
                       " message(s) not sent: no peer connected before shutdown");
    }
}

std::uint64_t node::next_seq() {
    if (++seq_ > seq_reserved_) {
        seq_reserved_ = seq_ + seq_block - 1;
        try {
            nlohmann::json state{{"seq_reserved", seq_reserved_}};
            core::write_file_atomically(config_.data_dir / "state.json", state.dump() + "\n", 0600);
        } catch (const std::exception& e) {
            core::log(core::log_level::warn, component, "cannot save state: ", e.what());
        }
    }
    return seq_;
}

void node::set_nick(const std::string& nick) {
    assert_loop_thread();
    if (auto problem = protocol::check_nick(nick); !problem.empty()) {
        sink_.on_error(problem);
        return;
    }
    if (nick == nick_) return;
    auto old = std::exchange(nick_, nick);
    connector_.set_nick(nick_);
    auto frame = make_frame(protocol::nick{nick_});
    for (auto& [id, n] : neighbours_) {
        if (n.link) n.link->send(frame);
    }
    // Members beyond the neighbours learn it from this peer's presence, said now.
    for (auto& [id, members] : members_) members.announce_now(clock::now());
    poke_presence();
    sink_.on_nick(peer_id(), old, nick_, true);
}

void node::list_peers() {
    assert_loop_thread();
    std::vector<peer_info> list;
    for (const auto& [id, n] : neighbours_) list.push_back(n.info);
    std::sort(list.begin(), list.end(), [](const peer_info& a, const peer_info& b) {
        return std::tie(a.nick, a.peer_id) < std::tie(b.nick, b.peer_id);
    });
    sink_.on_peers(list, connector_.link_count());
}

void node::list_members(const std::string& name) {
    assert_loop_thread();
    const auto names = rooms();
    const std::string wanted = name.empty() && !names.empty() ? names.front() : name;
    auto room = std::find_if(rooms_.begin(), rooms_.end(),
                             [&](const auto& r) { return r.second.keys.room == wanted; });
    if (room == rooms_.end()) {
        sink_.on_error("not in room \"" + wanted + "\"");
        return;
    }
    std::vector<member_info> list{{wanted, peer_id(), nick_, now_ms()}};
    for (const auto& m : members_of(room->first).members()) {
        list.push_back({wanted, m.peer_id, m.nick, m.last_seen});
    }
    sink_.on_names(wanted, list);
}

void node::shutdown() {
    assert_loop_thread();
    if (stopping_) return;
    // Best effort, while the links are up: members that miss it time this peer out.
    for (const auto& [id, room] : rooms_) announce(id, protocol::presence::leave);
    stopping_ = true;
    connector_.stop();
    transfers_.stop();
    overlay_timer_.cancel();
    drain_timer_.cancel();
    presence_timer_.cancel();
}

void node::connect(const protocol::host_port& address) {
    assert_loop_thread();
    connector_.connect(address);
}

void node::connect_failed(const std::string& peer, const std::set<std::string>& rooms) {
    const auto now = clock::now();
    for (const auto& room_id : rooms) {
        auto it = rooms_.find(room_id);
        if (it == rooms_.end()) continue;
        core::overlay::actions out;
        it->second.overlay.connect_failed(peer, now, out);
        execute(room_id, out);
    }
}

connector::hooks node::connector_hooks() {
    connector::hooks h;
    h.link_up = [this](const std::string& peer) { transfers_.on_peer_up(peer); };
    h.rooms_linked = [this](const std::string& peer, const std::set<std::string>& rooms,
                            bool contact) { rooms_linked(peer, rooms, contact); };
    h.message = [this](peer_link& from, const std::string& peer, protocol::message& msg,
                       const std::string& payload) {
        on_link_message(from, peer, msg, payload);
    };
    h.rooms_unlinked = [this](const std::string& peer, const std::set<std::string>& rooms) {
        rooms_unlinked(peer, rooms);
    };
    h.connect_failed = [this](const std::string& peer, const std::set<std::string>& rooms) {
        connect_failed(peer, rooms);
    };
    // The rooms' overlays choose their neighbours themselves; the address book only gets a
    // peer into a room it has nobody in (first start, or everyone gone).
    h.alone = [this] {
        return std::any_of(rooms_.begin(), rooms_.end(), [](const auto& r) {
            return r.second.overlay.members().active().empty() &&
                   r.second.overlay.members().pending() == 0;
        });
    };
    return h;
}

core::member_list& node::members_of(const std::string& room_id) {
    auto it = members_.find(room_id);
    if (it == members_.end()) {
        std::random_device seed;
        it = members_
                 .emplace(room_id, core::member_list(peer_id(), config_.members,
                                                     (std::uint64_t{seed()} << 32) | seed()))
                 .first;
    }
    return it->second;
}

asio::awaitable<void> node::presence_loop() {
    while (!stopping_) {
        const auto now = clock::now();
        std::optional<clock::time_point> wake;
        for (auto& [id, members] : members_) {
            std::vector<core::member_change> changes;
            members.expire(now, changes);
            report_members(id, changes);
            if (auto what = members.announcement(now)) announce(id, *what);
            auto w = members.next_wake();
            if (w && (!wake || *w < *wake)) wake = w;
        }
        presence_timer_.expires_at(wake ? std::max(*wake, now) : clock::time_point::max());
        co_await presence_timer_.async_wait(detail::use_nothrow);
    }
}

void node::announce(const std::string& room_id, protocol::presence what) {
    auto room = rooms_.find(room_id);
    if (room == rooms_.end() || room->second.overlay.members().active().empty()) return;
    // An envelope like any other of ours: it takes the next seq of the one counter messages
    // use too (docs/protocol.md, "Presence", says why and what a receiver may assume).
    protocol::envelope env{room->second.keys.room, peer_id(), nick_, 0, 0,
                           std::string(protocol::to_string(what)), protocol::presence_kind};
    std::string id;
    if (!publish(env, nullptr, &id)) return;
    // Our latest presence goes to every new neighbour of the room, as everyone's does.
    if (what == protocol::presence::leave) {
        room->second.overlay.unkeep(peer_id());
    } else {
        room->second.overlay.keep(peer_id(), id);
    }
}

void node::on_presence(const std::string& room_id, const protocol::envelope& env,
                       const std::string& id) {
    const auto what = protocol::parse_presence(env.body);
    if (!what) {
        core::log(core::log_level::debug, component, "ignoring presence ", id, ": body \"",
                  env.body, "\" is none of join, here, leave");
        return;
    }
    auto& members = members_of(room_id);
    std::vector<core::member_change> changes;
    if (members.on_presence({env.author, env.nick, env.seq, *what}, clock::now(), now_ms(),
                            changes)) {
        rooms_.at(room_id).overlay.keep(env.author, id);
    }
    report_members(room_id, changes);
    if (auto w = members.next_wake(); w && *w < presence_timer_.expiry()) poke_presence();
}

void node::report_members(const std::string& room_id, std::vector<core::member_change>& changes) {
    auto room = rooms_.find(room_id);
    if (room == rooms_.end()) return;
    const auto& name = room->second.keys.room;
    for (const auto& c : changes) {
        const member_info m{name, c.who.peer_id, c.who.nick, c.who.last_seen};
        switch (c.what) {
            case core::member_change::kind::join:
                core::log(core::log_level::info, component, "room ", name, ": ", m.nick, " (",
                          m.peer_id, ") is in");
                sink_.on_member_join(m);
                break;
            case core::member_change::kind::leave:
                core::log(core::log_level::info, component, "room ", name, ": ", m.nick, " (",
                          m.peer_id, ") is gone: ", core::to_string(c.reason));
                // Nobody is handed the presence of a member gone.
                room->second.overlay.unkeep(m.peer_id);
                sink_.on_member_leave(m, c.reason);
                break;
            case core::member_change::kind::nick:
                sink_.on_member_nick(m, c.old_nick);
                break;
        }
    }
    changes.clear();
}

}  // namespace confab::peer
