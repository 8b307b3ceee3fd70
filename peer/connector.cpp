#include "peer/connector.hpp"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <system_error>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/experimental/awaitable_operators.hpp>

#include "core/atomic_file.hpp"
#include "core/log.hpp"
#include "peer/detail/spawn.hpp"

namespace confab::peer {

namespace {

using asio::ip::tcp;
using clock = std::chrono::steady_clock;
using detail::log_exceptions;
using namespace asio::experimental::awaitable_operators;

constexpr const char* component = "peer";

std::string endpoint_string(const tcp::endpoint& ep) {
    return protocol::host_port{ep.address().to_string(), ep.port()}.to_string();
}

bool is_power_of_two(int n) {
    return n > 0 && (n & (n - 1)) == 0;
}

}  // namespace

connector::connector(asio::io_context& io, std::string self_id,
                     const tls_credentials& credentials, node_config config, event_sink& sink,
                     node_stats& stats, hooks h)
    : io_(io),
      self_id_(std::move(self_id)),
      tls_(make_tls_context(credentials)),
      config_(std::move(config)),
      sink_(sink),
      stats_(stats),
      hooks_(std::move(h)),
      nick_(config_.nick),
      acceptor_(io),
      maintenance_timer_(io),
      book_(config_.backoff) {}

void connector::listen() {
    bind_listener();
}

void connector::load_address_book() {
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
}

void connector::start() {
    asio::co_spawn(io_, accept_loop(), log_exceptions("accepting connections"));
    asio::co_spawn(io_, maintenance_loop(), log_exceptions("mesh maintenance"));
}

void connector::stop() {
    if (stopping_) return;
    stopping_ = true;
    save_address_book();
    std::error_code ignored;
    acceptor_.close(ignored);
    maintenance_timer_.cancel();
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

void connector::add_room(const core::room_keys& keys) {
    rooms_.emplace(keys.room_id, keys);
    for (const auto& [id, n] : neighbours_) claim(id, keys.room_id);
}

void connector::remove_room(const std::string& room_id) {
    rooms_.erase(room_id);
    for (auto& [peer, n] : neighbours_) {
        n.rooms.erase(room_id);
        n.claimed.erase(room_id);
        if (n.link && n.rooms.empty()) {
            n.link->close("no room needs this link", "unused");
        }
    }
}

void connector::withdraw(const std::string& peer, const std::string& room_id) {
    if (auto n = neighbours_.find(peer); n != neighbours_.end()) n->second.rooms.erase(room_id);
}

void connector::claim(const std::string& peer, const std::string& room_id) {
    auto n = neighbours_.find(peer);
    if (n == neighbours_.end() || !n->second.link) return;
    n->second.claimed.insert(room_id);
    n->second.link->send(make_frame(protocol::rooms{our_claims(*n->second.link, {room_id})}));
}

void connector::dial_for(const protocol::peer_address& peer, const std::string& room_id) {
    if (auto d = dialling_for_.find(peer.peer_id); d != dialling_for_.end()) {
        d->second.insert(room_id);  // already on its way
    } else if (!stopping_) {
        dialling_for_[peer.peer_id] = {room_id};
        asio::co_spawn(io_, dial(peer.addr, {peer.peer_id, {room_id}}),
                       log_exceptions("dialling " + peer.addr));
    }
}

void connector::rooms_linked(const std::string& peer, const std::set<std::string>& rooms,
                             bool contact) {
    if (!neighbours_.count(peer)) return;
    hooks_.rooms_linked(peer, rooms, contact);
    if (auto d = dialling_for_.find(peer); d != dialling_for_.end()) {
        for (const auto& room_id : rooms) d->second.erase(room_id);
        if (d->second.empty()) dialling_for_.erase(d);
    }
}

std::optional<std::string> connector::rename(peer_link& from, const std::string& peer_id,
                                             const std::string& nick) {
    auto it = neighbours_.find(peer_id);
    if (it == neighbours_.end() || it->second.link != &from) return std::nullopt;
    return std::exchange(it->second.info.nick, nick);
}

void connector::bind_listener() {
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

asio::awaitable<void> connector::accept_loop() {
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

asio::awaitable<void> connector::maintenance_loop() {
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

void connector::dial_due() {
    if (stopping_) return;
    // The rooms' overlays choose their neighbours themselves; the address book only gets a
    // peer into a room it has nobody in (first start, or everyone gone), the addresses the
    // user named (/connect, --join) first. Not while the room has neighbours: a contact that
    // is up but declines us as a neighbour would be dialled, and decline, every second.
    const bool alone = hooks_.alone();
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

asio::awaitable<void> connector::dial(std::string addr, dial_purpose purpose) {
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
        hooks_.connect_failed(purpose.peer_id, purpose.rooms);
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

void connector::dial_failed(const std::string& addr, const std::string& why, bool tell_user) {
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

asio::awaitable<void> connector::serve(peer_stream socket, std::string dialled, dial_purpose purpose) {
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
        connector& c;
        const dial_purpose& purpose;
        const bool& linked;
        ~connect_outcome() {
            if (purpose.peer_id.empty()) return;
            c.dialling_for_.erase(purpose.peer_id);
            if (linked || c.stopping_) return;
            c.hooks_.connect_failed(purpose.peer_id, purpose.rooms);
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
        connector& c;
        peer_link* l;
        ~unlist() {
            c.links_.erase(l);
            if (!l->outbound()) --c.inbound_;
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
                        nullptr,      shared,
                        {}};
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
        hooks_.link_up(id);
        rooms_linked(id, shared, contact);
        co_await l.run([this, &id](peer_link& from, protocol::message& m,
                                   const std::string& payload) {
            hooks_.message(from, id, m, payload);
        });
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
            hooks_.rooms_unlinked(id, rooms);
        }
    }
    if (contact) book_.disconnected(dialled, clock::now());
    poke_maintenance();
}

asio::awaitable<std::string> connector::secure(peer_link& l, std::optional<std::string>& tls_id) {
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

asio::awaitable<std::optional<protocol::hello>> connector::answer(peer_link& l,
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

bool connector::admit(peer_link& l, const protocol::hello& theirs, neighbour candidate) {
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

void connector::on_rooms(peer_link& from, const std::string& from_id, const protocol::rooms& claims) {
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

void connector::await_replacement(const std::string& id) {
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

std::set<std::string> connector::all_rooms() const {
    std::set<std::string> ids;
    for (const auto& [id, room] : rooms_) ids.insert(id);
    return ids;
}

std::vector<protocol::room_claim> connector::our_claims(peer_link& l,
                                                   const std::set<std::string>& rooms) const {
    std::vector<protocol::room_claim> claims;
    // Bound to this TLS connection (its exporter), our role and our id: worthless if replayed
    // on another connection or relayed by someone in the middle.
    const auto exporter = tls_exporter(l.stream().native_handle());
    const auto role = l.outbound() ? core::proof_role::dialler : core::proof_role::acceptor;
    for (const auto& room_id : rooms) {
        auto it = rooms_.find(room_id);
        if (it == rooms_.end()) continue;
        const auto& keys = it->second;
        std::string proof;
        if (!keys.open && exporter) proof = core::room_proof(keys, *exporter, role, peer_id());
        claims.push_back({keys.room, keys.room_id, std::move(proof)});
    }
    return claims;
}

protocol::hello connector::our_hello(peer_link& l, const std::set<std::string>& rooms) const {
    protocol::hello h;
    h.peer_id = peer_id();
    h.nick = nick_;
    h.listen_port = listen_port_;
    h.rooms = our_claims(l, rooms);
    return h;
}

std::set<std::string> connector::check_claims(peer_link& l, const std::string& their_id,
                                         const std::vector<protocol::room_claim>& claims,
                                         std::string* refusal) const {
    std::set<std::string> proven;
    bool wrong_secret = false;
    const auto exporter = tls_exporter(l.stream().native_handle());
    // Their role is the opposite of ours.
    const auto role = l.outbound() ? core::proof_role::acceptor : core::proof_role::dialler;
    for (const auto& claim : claims) {
        auto it = rooms_.find(claim.id);
        if (it == rooms_.end() || it->second.room != claim.name) {
            // Our room's name with another id: another secret for it (or another kind).
            for (const auto& [id, keys] : rooms_) {
                if (keys.room == claim.name) wrong_secret = true;
            }
            continue;
        }
        const auto& keys = it->second;
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

bool connector::is_room_refusal(const std::string& bye_reason) {
    return bye_reason == "wrong secret" || bye_reason == "other room";
}

std::string connector::room_sentence(const std::string& refusal, const std::string& address) const {
    std::string names;
    for (const auto& [id, keys] : rooms_) {
        names += (names.empty() ? "\"" : ", \"") + keys.room + "\"";
    }
    if (refusal == "other room") return address + " is not in room " + names;
    return "wrong secret for room " + names + " (peer " + address + ")";
}

void connector::connect(const protocol::host_port& address) {
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

void connector::save_address_book() const {
    try {
        core::write_file_atomically(config_.data_dir / "peers.json", book_.to_json().dump(1) + "\n",
                                    0600);
    } catch (const std::exception& e) {
        core::log(core::log_level::warn, component, "cannot save known peers: ", e.what());
    }
}

}  // namespace confab::peer
