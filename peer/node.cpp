#include "peer/node.hpp"

#include <algorithm>
#include <deque>
#include <random>
#include <cassert>
#include <cstdio>
#include <exception>
#include <system_error>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/experimental/awaitable_operators.hpp>

#include "core/atomic_file.hpp"
#include "core/envelope_signature.hpp"
#include "core/log.hpp"
#include "core/message_id.hpp"
#include "core/overloaded.hpp"
#include "protocol/validate.hpp"

namespace confab::peer {

namespace {

using asio::ip::tcp;
using clock = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;

constexpr const char* component = "peer";
// Sequence numbers are reserved on disk in blocks, so that a crash skips numbers but never
// reuses one, at the cost of one small write per block.
constexpr std::uint64_t seq_block = 1000;
// Messages written while no neighbour is connected wait for one, up to this many.
constexpr std::size_t max_outbox = 1000;
// Completion handler for top-level coroutines: an escaped exception is a bug; say so.
auto log_exceptions(std::string what) {
    return [what = std::move(what)](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            core::log(core::log_level::error, component, what, " failed: ", ex.what());
        }
    };
}

std::string endpoint_string(const tcp::endpoint& ep) {
    return protocol::host_port{ep.address().to_string(), ep.port()}.to_string();
}

std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

bool is_power_of_two(int n) {
    return n > 0 && (n & (n - 1)) == 0;
}

}  // namespace

node::node(asio::io_context& io, core::identity identity, node_config config, event_sink& sink)
    : io_(io),
      identity_(std::move(identity)),
      credentials_(std::make_shared<const tls_credentials>(identity_)),
      tls_(make_tls_context(*credentials_)),
      config_(std::move(config)),
      sink_(sink),
      loop_thread_(std::this_thread::get_id()),
      nick_(config_.nick),
      acceptor_(io),
      maintenance_timer_(io),
      overlay_timer_(io),
      drain_timer_(io),
      presence_timer_(io),
      book_(config_.backoff),
      gate_([this] {
          core::chat_gate_config c;
          c.author_rate = config_.author_rate;
          c.author_burst = config_.author_burst;
          c.author_patience = config_.author_patience;
          return c;
      }()),
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
    bind_listener();
    transfers_.start(peer_id(), config_.listen.host);

    auto peers_path = config_.data_dir / "peers.json";
    std::error_code ec;
    if (std::filesystem::exists(peers_path, ec)) {
        try {
            book_.load_json(nlohmann::json::parse(core::read_file(peers_path)));
        } catch (const std::exception& e) {
            core::log(core::log_level::warn, component, "ignoring ", peers_path.string(), ": ",
                      e.what());
        }
    }
    for (const auto& join : config_.joins) book_.add(join.to_string(), {}, /*pinned=*/true);
    // Peers met before are the rooms' first passive peers: a restarted peer finds its room
    // again without the address it was started with.
    std::vector<protocol::peer_address> known;
    for (const auto& e : book_.entries()) {
        if (!e.peer_id.empty() && !e.self) known.push_back({e.peer_id, e.addr});
    }
    const auto now = clock::now();
    for (auto& [id, room] : rooms_) {
        core::overlay::actions out;
        room.overlay.add_known(known, now, out);
        execute(id, out);
    }

    asio::co_spawn(io_, accept_loop(), log_exceptions("accepting connections"));
    asio::co_spawn(io_, maintenance_loop(), log_exceptions("mesh maintenance"));
    asio::co_spawn(io_, overlay_loop(), log_exceptions("room overlays"));
    asio::co_spawn(io_, presence_loop(), log_exceptions("room presence"));
}

void node::bind_listener() {
    std::error_code ec;
    auto address = asio::ip::make_address(config_.listen.host, ec);
    if (ec) {
        throw std::runtime_error("cannot listen on " + config_.listen.to_string() + ": \"" +
                                 config_.listen.host + "\" is not an IP address");
    }
    auto try_port = [&](std::uint16_t port) {
        std::error_code e;
        acceptor_.close(e);
        tcp::endpoint ep(address, port);
        acceptor_.open(ep.protocol(), e);
        if (!e) acceptor_.set_option(tcp::acceptor::reuse_address(true), e);
        if (!e) acceptor_.bind(ep, e);
        if (!e) acceptor_.listen(asio::socket_base::max_listen_connections, e);
        return e;
    };

    const std::uint16_t wanted = config_.listen.port;
    ec = try_port(wanted);
    // Without an explicit --listen a second peer on the same machine just works: it takes
    // the next free port (or any) and says which.
    if (ec && !config_.listen_explicit && wanted != 0) {
        for (std::uint16_t p = wanted + 1; ec && p != 0 && p <= wanted + 9; ++p) ec = try_port(p);
        if (ec) ec = try_port(0);
    }
    if (ec) {
        throw std::runtime_error("cannot listen on " + config_.listen.to_string() + ": " +
                                 ec.message());
    }
    auto local = acceptor_.local_endpoint();
    listen_port_ = local.port();
    sink_.on_ready(peer_id(), nick_, endpoint_string(local), config_.room);
    if (wanted != 0 && listen_port_ != wanted) {
        sink_.on_notice("port " + std::to_string(wanted) + " is in use (another confab?); " +
                        "listening on " + std::to_string(listen_port_) + " instead");
    }
    core::log(core::log_level::info, component, "listening on ", endpoint_string(local), " as ",
              peer_id());
}

asio::awaitable<void> node::accept_loop() {
    while (!stopping_) {
        auto [ec, socket] = co_await acceptor_.async_accept(detail::use_nothrow);
        if (stopping_) co_return;
        if (ec) {
            // Running out of descriptors is temporary; anything else is logged and retried
            // after a pause so that an error cannot turn into a busy loop.
            core::log(core::log_level::warn, component, "accept failed: ", ec.message());
            co_await detail::timeout(std::chrono::milliseconds(100));
            continue;
        }
        if (inbound_ >= config_.max_inbound) {
            core::log(core::log_level::warn, component, "refusing a connection: already ", inbound_,
                      " inbound");
            continue;
        }
        if (handshaking_ >= config_.max_handshakes) {
            core::log(core::log_level::warn, component, "refusing a connection: ", handshaking_,
                      " handshakes already in progress");
            continue;
        }
        socket.set_option(tcp::no_delay(true), ec);
        // Counted here, not when serve() starts: the next accept must already see it.
        ++handshaking_;
        asio::co_spawn(io_, serve(peer_stream(std::move(socket), tls_), {}, {}),
                       log_exceptions("inbound connection"));
    }
}

asio::awaitable<void> node::maintenance_loop() {
    auto next_save = clock::now() + config_.save_every;
    while (!stopping_) {
        auto now = clock::now();
        if (now >= next_save) {
            // Also saved at shutdown; saving now too means a peer that was killed still
            // finds its rooms again on restart. One small write a minute on the loop.
            save_address_book();
            next_save = now + config_.save_every;
        }
        dial_due();
        auto wake = next_save;
        if (auto due = book_.next_due()) {
            // Due but not dialled (in the rooms already, or connected by another address):
            // look again later; new events poke the loop sooner.
            wake = std::min(wake, *due > now ? *due : now + std::chrono::seconds(5));
        }
        maintenance_timer_.expires_at(wake);
        co_await maintenance_timer_.async_wait(detail::use_nothrow);
    }
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

void node::dial_due() {
    if (stopping_) return;
    // The rooms' overlays choose their neighbours themselves; the address book only gets a
    // peer into a room it has nobody in (first start, or everyone gone), the addresses the
    // user named (/connect, --join) first. Not while the room has neighbours: a contact that
    // is up but declines us as a neighbour would be dialled, and decline, every second.
    const bool alone = std::any_of(rooms_.begin(), rooms_.end(), [](const auto& r) {
        return r.second.overlay.members().active().empty() &&
               r.second.overlay.members().pending() == 0;
    });
    auto linked = [this](const core::address_book::entry& e) {
        return !e.peer_id.empty() && neighbours_.count(e.peer_id) > 0;
    };
    const std::size_t busy = dialling_;
    const std::size_t slots = alone && busy < 2 ? 2 - busy : 0;
    // due() lists the addresses the user named first.
    auto addrs = book_.due(clock::now(), slots, linked);
    std::size_t started = 0;
    for (const auto& addr : addrs) {
        const auto* e = book_.find(addr);
        if (!e || started >= slots) break;
        book_.dial_started(addr);
        ++dialling_;
        ++started;
        asio::co_spawn(io_, dial(addr, {}), log_exceptions("dialling " + addr));
    }
}

asio::awaitable<void> node::dial(std::string addr, dial_purpose purpose) {
    const bool contact = purpose.peer_id.empty();
    // A dial for the overlays that fails is the overlays' to handle; a contact's is the
    // address book's.
    auto failed = [this, &addr, &purpose, contact](const std::string& why) {
        if (contact) {
            --dialling_;
            dial_failed(addr, why);
            return;
        }
        core::log(core::log_level::debug, component, "could not reach ", addr, ": ", why);
        dialling_for_.erase(purpose.peer_id);
        const auto now = clock::now();
        for (const auto& room_id : purpose.rooms) {
            auto it = rooms_.find(room_id);
            if (it == rooms_.end()) continue;
            core::overlay::actions out;
            it->second.overlay.connect_failed(purpose.peer_id, now, out);
            execute(room_id, out);
        }
    };
    std::string error;
    auto target = protocol::parse_host_port(addr, &error);
    std::vector<tcp::endpoint> endpoints;
    if (target) {
        std::error_code ec;
        auto ip = asio::ip::make_address(target->host, ec);
        if (!ec) {
            endpoints.emplace_back(ip, target->port);
        } else {
            tcp::resolver resolver(io_);
            resolvers_.insert(&resolver);  // shutdown() cancels a slow look-up
            auto [rec, results] = co_await resolver.async_resolve(
                target->host, std::to_string(target->port), detail::use_nothrow);
            resolvers_.erase(&resolver);
            if (rec) error = "cannot resolve \"" + target->host + "\": " + rec.message();
            for (const auto& r : results) endpoints.push_back(r.endpoint());
        }
    }
    if (endpoints.empty()) {
        failed(error.empty() ? "no address to dial" : error);
        co_return;
    }
    if (stopping_) {
        if (contact) --dialling_;
        co_return;
    }
    peer_stream socket(io_, tls_);
    connecting_.insert(&socket);
    auto result = co_await (asio::async_connect(socket.lowest_layer(), endpoints,
                                                detail::use_nothrow) ||
                            detail::timeout(config_.dial_timeout));
    connecting_.erase(&socket);
    if (result.index() == 1) {
        failed("no answer within " +
               std::to_string(
                   std::chrono::duration_cast<std::chrono::seconds>(config_.dial_timeout).count()) +
               " s");
        co_return;
    }
    if (auto [ec, ep] = std::get<0>(result); ec || stopping_) {
        if (ec) {
            failed(ec.message());
        } else if (contact) {
            --dialling_;
        }
        co_return;
    }
    std::error_code ignored;
    socket.lowest_layer().set_option(tcp::no_delay(true), ignored);
    co_await serve(std::move(socket), addr, std::move(purpose));
}

void node::dial_failed(const std::string& addr, const std::string& why, bool tell_user) {
    if (stopping_) return;
    auto delay = book_.dial_failed(addr, clock::now());
    const auto* e = book_.find(addr);
    core::log(core::log_level::info, component, "could not reach ", addr, ": ", why);
    // Only addresses the user named are worth interrupting them for, and less and less often.
    if (tell_user && e && e->pinned && delay && is_power_of_two(e->failures)) {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*delay).count();
        char seconds[32];
        std::snprintf(seconds, sizeof seconds, "%.1f s", static_cast<double>(ms) / 1000.0);
        sink_.on_error("could not reach " + addr + " (" + why + "); retrying in " + seconds);
    }
    poke_maintenance();
}

asio::awaitable<void> node::serve(peer_stream socket, std::string dialled, dial_purpose purpose) {
    const bool outbound = !dialled.empty();
    const bool contact = outbound && purpose.peer_id.empty();
    // A contact counts as dialling until its handshake is over, so that dial_due() does not
    // start more dials while handshakes are slow.
    struct in_progress {
        std::size_t* count;
        void done() {
            if (count) --*count;
            count = nullptr;
        }
        ~in_progress() { done(); }
    } dialling{contact ? &dialling_ : nullptr};
    // An inbound connection counts as a handshake (from its accept) until it is a neighbour
    // or gone.
    in_progress handshaking{outbound ? nullptr : &handshaking_};
    // An overlay's dial that ends before its rooms are linked is a failed connect for them.
    bool linked = false;
    struct connect_outcome {
        node& n;
        const dial_purpose& purpose;
        const bool& linked;
        ~connect_outcome() {
            if (purpose.peer_id.empty()) return;
            n.dialling_for_.erase(purpose.peer_id);
            if (linked || n.stopping_) return;
            const auto now = clock::now();
            for (const auto& room_id : purpose.rooms) {
                auto it = n.rooms_.find(room_id);
                if (it == n.rooms_.end()) continue;
                core::overlay::actions out;
                it->second.overlay.connect_failed(purpose.peer_id, now, out);
                n.execute(room_id, out);
            }
        }
    } outcome{*this, purpose, linked};
    auto failed = [&](const std::string& why, bool tell_user) {
        if (contact) dial_failed(dialled, why, tell_user);
    };

    std::error_code ec;
    const auto remote = socket.lowest_layer().remote_endpoint(ec);
    if (ec) {
        failed(ec.message(), true);
        co_return;
    }
    const std::string remote_text = endpoint_string(remote);
    const auto local = socket.lowest_layer().local_endpoint(ec);
    const std::string local_host = local.address().to_string();
    // Both ends see the dialler's port: it tells apart two links dialled by the same peer.
    const std::uint16_t dialler_port = outbound ? local.port() : remote.port();

    peer_link l(std::move(socket), outbound, config_.limits, &stats_);
    links_.insert(&l);
    if (!outbound) ++inbound_;
    struct unlist {
        node& n;
        peer_link* l;
        ~unlist() {
            n.links_.erase(l);
            if (!l->outbound()) --n.inbound_;
        }
    } unlist_on_exit{*this, &l};

    // TLS first: nothing of ours, not even a hello, goes to a peer before it has proved which
    // key it holds.
    std::optional<std::string> tls_id;
    const std::string tls_problem = co_await secure(l, tls_id);
    // Plain statements, not `?:`: GCC 12 mishandles co_await inside a conditional.
    std::optional<protocol::hello> theirs;
    std::set<std::string> shared;
    if (!tls_problem.empty()) {
        l.abort(tls_problem);
    } else if (outbound) {
        const auto ours = our_hello(l, all_rooms());
        theirs = co_await l.handshake(ours);
        if (theirs && theirs->peer_id != *tls_id) {
            l.abort("its hello claims peer id " + theirs->peer_id + " but its TLS key is " +
                    *tls_id);
            theirs.reset();
        }
        if (theirs && theirs->peer_id != peer_id()) {
            std::string refusal;
            shared = check_claims(l, theirs->peer_id, theirs->rooms, &refusal);
            if (shared.empty()) {
                // We have said hello but nothing else; the acceptor hears why and is gone.
                l.close(room_sentence(refusal, remote_text), refusal);
                co_await l.run([](peer_link&, protocol::message&, const std::string&) {});
                if (contact) sink_.on_error(room_sentence(refusal, dialled));
                failed(l.close_reason(), false);
                co_return;
            }
        }
    } else {
        theirs = co_await answer(l, *tls_id, shared);
    }
    dialling.done();
    handshaking.done();
    if (!theirs) {
        core::log(core::log_level::info, component, "no handshake with ", remote_text, ": ",
                  l.close_reason());
        if (outbound && l.remote_bye() == "self") {
            const auto* e = book_.find(dialled);
            if (e && e->pinned) sink_.on_error(dialled + " is this peer's own address");
            book_.mark_self(dialled);
            poke_maintenance();  // the slot it took is free for another address
        } else if (contact && is_room_refusal(l.remote_bye().value_or(""))) {
            // Retrying will not help until the user fixes the secret: say so plainly, and
            // then less and less often (dial_failed backs off as for any failure).
            const auto* e = book_.find(dialled);
            if (!e || e->failures == 0 || is_power_of_two(e->failures + 1)) {
                sink_.on_error(room_sentence(*l.remote_bye(), dialled));
            }
            failed(l.close_reason(), false);
        } else {
            failed(l.close_reason(), true);
        }
        co_return;
    }
    if (stopping_) co_return;

    auto ignore = [](peer_link&, protocol::message&, const std::string&) {};
    if (theirs->peer_id == peer_id()) {
        // Only an implementation that answers before reading gets here; ours says bye first.
        if (outbound) book_.mark_self(dialled);
        l.close("connected to ourselves", "self");
        co_await l.run(ignore);
        co_return;
    }

    neighbour candidate{&l,           {theirs->peer_id, theirs->nick, remote_text},
                        {},           dialled,
                        dialler_port, local_host,
                        nullptr,      shared};
    if (theirs->listen_port != 0) {
        candidate.advertised =
            protocol::host_port{remote.address().to_string(), theirs->listen_port}.to_string();
        candidate.info.addr = candidate.advertised;
    }
    if (contact) book_.dial_succeeded(dialled, theirs->peer_id);
    if (!candidate.advertised.empty()) book_.add(candidate.advertised, theirs->peer_id);

    const std::string id = theirs->peer_id;
    if (admit(l, *theirs, candidate)) {
        core::log(core::log_level::info, component, "connected to ", theirs->nick, " (", id,
                  ") at ", remote_text, outbound ? ", dialled" : ", accepted");
        linked = true;
        transfers_.on_peer_up(id);
        rooms_linked(id, shared, contact);
        co_await l.run([this, &id](peer_link& from, protocol::message& m,
                                   const std::string& p) { on_link_message(from, id, m, p); });
    } else {
        co_await l.run(ignore);
    }

    auto it = neighbours_.find(id);
    if (it != neighbours_.end() && it->second.link == &l) {
        if (l.remote_bye() == "duplicate" && !stopping_) {
            // The neighbour kept another link to us, whose hello may still be on its way.
            it->second.link = nullptr;
            await_replacement(id);
        } else {
            auto info = it->second.info;
            auto rooms = it->second.rooms;
            neighbours_.erase(it);
            core::log(core::log_level::info, component, "lost ", info.nick, " (", id,
                      "): ", l.close_reason());
            sink_.on_peer_down(info, l.close_reason());
            rooms_unlinked(id, rooms);
        }
    }
    if (contact) book_.disconnected(dialled, clock::now());
    poke_maintenance();
}

asio::awaitable<std::string> node::secure(peer_link& l, std::optional<std::string>& tls_id) {
    const auto side = l.outbound() ? asio::ssl::stream_base::client : asio::ssl::stream_base::server;
    auto result = co_await (l.stream().async_handshake(side, detail::use_nothrow) ||
                            detail::timeout(config_.limits.hello_timeout));
    if (result.index() == 1) {
        co_return "no TLS handshake within " +
            std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                               config_.limits.hello_timeout)
                               .count()) +
            " ms";
    }
    if (auto [ec] = std::get<0>(result); ec) co_return describe_tls_error(ec);
    tls_id = tls_peer_id(l.stream().native_handle());
    if (!tls_id) co_return "its TLS certificate holds no Ed25519 key";
    co_return std::string();
}

asio::awaitable<std::optional<protocol::hello>> node::answer(peer_link& l,
                                                             const std::string& tls_id,
                                                             std::set<std::string>& shared) {
    auto theirs = co_await l.receive_hello();
    if (!theirs || stopping_) co_return std::nullopt;
    if (theirs->peer_id != tls_id) {
        l.abort("its hello claims peer id " + theirs->peer_id + " but its TLS key is " + tls_id);
        co_return std::nullopt;
    }
    if (theirs->peer_id == peer_id()) {
        co_await l.refuse_with_bye("self");
        co_return std::nullopt;
    }
    std::string refusal;
    shared = check_claims(l, theirs->peer_id, theirs->rooms, &refusal);
    if (shared.empty()) {
        // Not a word of any room, not even our hello, for a peer that cannot prove it
        // shares one with us.
        std::error_code ec;
        const std::string remote = endpoint_string(l.stream().lowest_layer().remote_endpoint(ec));
        const std::string why = refusal == "other room" ? "in none of our rooms"
                                                        : "wrong secret for a room of ours";
        core::log(core::log_level::warn, component, "refused ", theirs->nick, " (",
                  theirs->peer_id, ") at ", remote, ": ", why);
        if (room_refusals_told_.insert(theirs->peer_id).second) {
            sink_.on_notice("refused " + theirs->nick + " at " + remote + ": " + why);
        }
        co_await l.refuse_with_bye(refusal);
        co_return std::nullopt;
    }
    // No "full" here: every room's membership decides for itself whether this peer becomes a
    // neighbour, and releases the link when none wants it.
    const auto ours = our_hello(l, shared);
    const bool sent = co_await l.send_hello(ours);
    if (!sent) co_return std::nullopt;
    co_return theirs;
}

bool node::admit(peer_link& l, const protocol::hello& theirs, neighbour candidate) {
    const std::string& id = theirs.peer_id;
    auto it = neighbours_.find(id);
    if (it != neighbours_.end()) {
        // Both ends apply the same rule, so they agree on which link survives: the one
        // dialled by the smaller peer id; between two dialled by the same peer, the one from
        // the lower port.
        auto rank = [&](const neighbour& n) {
            return std::pair<const std::string&, std::uint16_t>(n.link->outbound() ? peer_id() : id,
                                                                n.dialler_port);
        };
        if (it->second.link == nullptr) {
            it->second.replacement_timer->cancel();  // the awaited replacement is here
        } else {
            peer_link& existing = *it->second.link;
            if (!(rank(candidate) < rank(it->second))) {
                l.close("duplicate connection", "duplicate");
                return false;
            }
            existing.close("duplicate connection", "duplicate");
        }
        // The rooms proved on the link it replaces stay linked through this one.
        auto rooms = std::move(it->second.rooms);
        it->second = std::move(candidate);
        it->second.rooms.insert(rooms.begin(), rooms.end());
    } else {
        it = neighbours_.emplace(id, std::move(candidate)).first;
        sink_.on_peer_up(it->second.info);
    }
    return true;
}

void node::on_link_message(peer_link& l, const std::string& peer_id, protocol::message& msg,
                           const std::string& payload) {
    std::visit(core::overloaded{
                   [&](protocol::chat& chat) { on_chat(l, peer_id, chat, payload); },
                   [&](protocol::rooms& claims) { on_rooms(l, peer_id, claims); },
                   [&](protocol::nick& renamed) {
                       auto it = neighbours_.find(peer_id);
                       if (it == neighbours_.end() || it->second.link != &l) return;
                       auto old = std::exchange(it->second.info.nick, renamed.nick);
                       if (old != renamed.nick) sink_.on_nick(peer_id, old, renamed.nick, false);
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
        n->second.rooms.erase(room_id);
    }
}

bool node::just_parted(const std::string& room_id) {
    const auto now = clock::now();
    std::erase_if(parted_, [&](const auto& p) { return now - p.second.second > parted_grace; });
    return parted_.count(room_id) != 0;
}

void node::on_rooms(peer_link& from, const std::string& from_id, const protocol::rooms& claims) {
    auto n = neighbours_.find(from_id);
    if (n == neighbours_.end() || n->second.link != &from) return;
    std::string refusal;
    auto proven = check_claims(from, from_id, claims.rooms, &refusal);
    std::set<std::string> added;
    for (const auto& room_id : proven) {
        if (n->second.rooms.insert(room_id).second) added.insert(room_id);
    }
    if (added.empty()) return;
    // Rooms we claimed first: this is the answer, and the neighbour is our way into them.
    // The others are its claims: ours go back.
    std::set<std::string> answered, asked;
    for (const auto& room_id : added) {
        (n->second.claimed.erase(room_id) ? answered : asked).insert(room_id);
    }
    if (!asked.empty()) from.send(make_frame(protocol::rooms{our_claims(from, asked)}));
    if (!answered.empty()) rooms_linked(from_id, answered, true);
    if (!asked.empty()) rooms_linked(from_id, asked, false);
}

void node::await_replacement(const std::string& id) {
    auto timer = std::make_shared<asio::steady_timer>(io_, config_.replacement_grace);
    neighbours_.at(id).replacement_timer = timer;
    timer->async_wait([this, id, timer](std::error_code) {
        auto it = neighbours_.find(id);
        if (it == neighbours_.end() || it->second.replacement_timer != timer) return;
        if (it->second.link != nullptr) return;
        auto info = it->second.info;
        neighbours_.erase(it);
        const std::string reason = "duplicate link closed and no other arrived";
        core::log(core::log_level::info, component, "lost ", info.nick, " (", id, "): ", reason);
        sink_.on_peer_down(info, reason);
        poke_maintenance();
    });
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
    auto verdict = gate_.check(chat, payload, from_id, clock::now(), now_ms());
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
    // Onward with one more hop; the envelope (and so the id) is unchanged. Serialised once,
    // for every link it goes on.
    const std::uint32_t hops = std::min<std::uint32_t>(chat.hops, 65534) + 1;
    chat.hops = hops;
    auto frame = make_frame(chat);
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
                l->send(make_frame(std::visit(
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
                    n->second.claimed.insert(room_id);
                    n->second.link->send(
                        make_frame(protocol::rooms{our_claims(*n->second.link, {room_id})}));
                }
            } else if (auto d = dialling_for_.find(peer); d != dialling_for_.end()) {
                d->second.insert(room_id);  // already on its way
            } else if (!stopping_) {
                dialling_for_[peer] = {room_id};
                asio::co_spawn(io_, dial(c->peer.addr, {peer, {room_id}}),
                               log_exceptions("dialling " + c->peer.addr));
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
    if (auto d = dialling_for_.find(peer); d != dialling_for_.end()) {
        for (const auto& room_id : rooms) d->second.erase(room_id);
        if (d->second.empty()) dialling_for_.erase(d);
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

std::set<std::string> node::all_rooms() const {
    std::set<std::string> ids;
    for (const auto& [id, room] : rooms_) ids.insert(id);
    return ids;
}

std::vector<protocol::room_claim> node::our_claims(peer_link& l,
                                                   const std::set<std::string>& rooms) const {
    std::vector<protocol::room_claim> claims;
    // Bound to this TLS connection (its exporter), our role and our id: worthless if replayed
    // on another connection or relayed by someone in the middle.
    const auto exporter = tls_exporter(l.stream().native_handle());
    const auto role = l.outbound() ? core::proof_role::dialler : core::proof_role::acceptor;
    for (const auto& room_id : rooms) {
        auto it = rooms_.find(room_id);
        if (it == rooms_.end()) continue;
        const auto& keys = it->second.keys;
        std::string proof;
        if (!keys.open && exporter) proof = core::room_proof(keys, *exporter, role, peer_id());
        claims.push_back({keys.room, keys.room_id, std::move(proof)});
    }
    return claims;
}

protocol::hello node::our_hello(peer_link& l, const std::set<std::string>& rooms) const {
    protocol::hello h;
    h.peer_id = peer_id();
    h.nick = nick_;
    h.listen_port = listen_port_;
    h.rooms = our_claims(l, rooms);
    return h;
}

std::set<std::string> node::check_claims(peer_link& l, const std::string& their_id,
                                         const std::vector<protocol::room_claim>& claims,
                                         std::string* refusal) const {
    std::set<std::string> proven;
    bool wrong_secret = false;
    const auto exporter = tls_exporter(l.stream().native_handle());
    // Their role is the opposite of ours.
    const auto role = l.outbound() ? core::proof_role::acceptor : core::proof_role::dialler;
    for (const auto& claim : claims) {
        auto it = rooms_.find(claim.id);
        if (it == rooms_.end() || it->second.keys.room != claim.name) {
            // Our room's name with another id: another secret for it (or another kind).
            for (const auto& [id, room] : rooms_) {
                if (room.keys.room == claim.name) wrong_secret = true;
            }
            continue;
        }
        const auto& keys = it->second.keys;
        if (!keys.open &&
            (!exporter || !core::check_room_proof(keys, *exporter, role, their_id, claim.proof))) {
            wrong_secret = true;
            continue;
        }
        proven.insert(claim.id);
    }
    if (refusal) *refusal = wrong_secret ? "wrong secret" : "other room";
    return proven;
}

bool node::is_room_refusal(const std::string& bye_reason) {
    return bye_reason == "wrong secret" || bye_reason == "other room";
}

std::string node::room_sentence(const std::string& refusal, const std::string& address) const {
    std::string names;
    for (const auto& [id, room] : rooms_) {
        names += (names.empty() ? "\"" : ", \"") + room.keys.room + "\"";
    }
    if (refusal == "other room") return address + " is not in room " + names;
    return "wrong secret for room " + names + " (peer " + address + ")";
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
    // answer is our way in (see on_rooms).
    for (auto& [id, n] : neighbours_) {
        if (!n.link) continue;
        n.claimed.insert(keys.room_id);
        n.link->send(make_frame(protocol::rooms{our_claims(*n.link, {keys.room_id})}));
    }
    std::vector<protocol::peer_address> known;
    for (const auto& e : book_.entries()) {
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
    for (auto& [peer, n] : neighbours_) {
        n.rooms.erase(id);
        n.claimed.erase(id);
        if (n.link && n.rooms.empty()) {
            n.link->close("no room needs this link", "unused");
        }
    }
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
    sink_.on_peers(list, links_.size());
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

void node::connect(const protocol::host_port& address) {
    assert_loop_thread();
    const auto addr = address.to_string();
    if (const auto* e = book_.find(addr); e && e->self) {
        sink_.on_error(addr + " is this peer's own address");
        return;
    }
    if (!book_.add(addr, {}, /*pinned=*/true)) {
        sink_.on_error("cannot add " + addr + ": the address book is full of named addresses");
        return;
    }
    const auto* e = book_.find(addr);
    if (e->connected || e->dialling) {
        sink_.on_notice("already connected or connecting to " + addr);
        return;
    }
    if (auto it = neighbours_.find(e->peer_id); !e->peer_id.empty() && it != neighbours_.end()) {
        sink_.on_notice("already connected to " + it->second.info.nick + " at " + addr);
        return;
    }
    // The user asked now: dial now, whatever the back-off says.
    book_.dial_started(addr);
    ++dialling_;
    asio::co_spawn(io_, dial(addr, {}), log_exceptions("dialling " + addr));
}

void node::shutdown() {
    assert_loop_thread();
    if (stopping_) return;
    // Best effort, while the links are up: members that miss it time this peer out.
    for (const auto& [id, room] : rooms_) announce(id, protocol::presence::leave);
    stopping_ = true;
    save_address_book();
    transfers_.stop();
    std::error_code ignored;
    acceptor_.close(ignored);
    maintenance_timer_.cancel();
    overlay_timer_.cancel();
    drain_timer_.cancel();
    presence_timer_.cancel();
    for (auto* s : connecting_) s->lowest_layer().close(ignored);
    for (auto* r : resolvers_) r->cancel();
    std::unordered_set<peer_link*> registered;
    for (auto& [id, n] : neighbours_) {
        if (n.link) registered.insert(n.link);
        if (n.replacement_timer) n.replacement_timer->cancel();
    }
    for (auto* l : links_) {
        if (registered.count(l)) {
            l->close("shutting down", "shutdown");
        } else {
            l->abort("shutting down");  // still greeting: nothing to say goodbye to yet
        }
    }
}

void node::save_address_book() const {
    try {
        core::write_file_atomically(config_.data_dir / "peers.json", book_.to_json().dump(1) + "\n",
                                    0600);
    } catch (const std::exception& e) {
        core::log(core::log_level::warn, component, "cannot save known peers: ", e.what());
    }
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
