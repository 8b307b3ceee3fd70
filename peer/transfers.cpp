#include "peer/transfers.hpp"

#include <openssl/rand.h>
#include <cstdlib>
#include <stdexcept>

#include <asio/post.hpp>

#include "core/atomic_file.hpp"
#include "core/log.hpp"
#include "protocol/address.hpp"

namespace confab::peer {

namespace {

constexpr const char* component = "files";
// An interrupted download from a peer still connected is retried this many times, this far
// apart (times the attempt number), before it waits for the sender to come back or /accept.
constexpr int max_auto_retries = 3;
constexpr auto retry_delay = std::chrono::seconds(2);
// Commands take the start of a transfer id; shorter than this is too easy to mistype.
constexpr std::size_t min_id_prefix = 4;

std::string random_transfer_id() {
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("no randomness");
    constexpr char hex[] = "0123456789abcdef";
    std::string id;
    for (unsigned char b : bytes) {
        id += hex[b >> 4];
        id += hex[b & 0x0f];
    }
    return id;
}

std::string short_id(const std::string& id) {
    return id.substr(0, 8);
}

bool is_wildcard(const std::string& host) {
    return host.empty() || host == "0.0.0.0" || host == "::";
}

std::filesystem::path expand_home(const std::string& path) {
    if (path == "~" || path.starts_with("~/")) {
        if (const char* home = std::getenv("HOME")) return home + path.substr(1);
    }
    return path;
}

nlohmann::json info_json(const file_info& i) {
    return {{"transfer", i.transfer}, {"name", i.name},   {"size", i.size},
            {"sha256", i.sha256},     {"from", i.from},   {"peer_id", i.peer_id},
            {"to", i.to},             {"state", i.state}, {"path", i.path},
            {"room", i.room}};
}

file_info info_from_json(const nlohmann::json& j) {
    file_info i;
    i.transfer = j.at("transfer").get<std::string>();
    i.name = j.at("name").get<std::string>();
    i.size = j.at("size").get<std::uint64_t>();
    i.sha256 = j.at("sha256").get<std::string>();
    i.from = j.at("from").get<std::string>();
    i.peer_id = j.at("peer_id").get<std::string>();
    i.to = j.at("to").get<std::string>();
    i.state = j.at("state").get<std::string>();
    i.path = j.at("path").get<std::string>();
    i.room = j.value("room", "");  // not kept before rooms were many
    return i;
}

}  // namespace

std::string human_size(std::uint64_t bytes) {
    if (bytes < 1000) return std::to_string(bytes) + " B";
    const char* units[] = {"kB", "MB", "GB", "TB", "PB"};
    double value = static_cast<double>(bytes) / 1000;
    std::size_t unit = 0;
    while (value >= 999.95 && unit + 1 < std::size(units)) {
        value /= 1000;
        ++unit;
    }
    char out[32];
    std::snprintf(out, sizeof out, "%.1f %s", value, units[unit]);
    return out;
}

transfers::transfers(asio::io_context& io, transfer_config config, event_sink& sink, hooks hooks)
    : io_(io), config_(std::move(config)), sink_(sink), hooks_(std::move(hooks)) {}

transfers::~transfers() {
    stop();
}

void transfers::start(const std::string& our_peer_id, const std::string& listen_host) {
    our_id_ = our_peer_id;
    listen_host_ = listen_host;
    const auto saved = read_saved();
    // The file service comes back on the port of the last run: receivers of our open offers,
    // and our offers in their transfers.json, point at it.
    std::uint16_t port = 0;
    if (saved.is_object() && saved.contains("service_port") &&
        saved["service_port"].is_number_unsigned() && saved["service_port"] <= 65535) {
        port = saved["service_port"].get<std::uint16_t>();
    }
    make_worker(port);
    load(saved);
}

nlohmann::json transfers::read_saved() const {
    std::error_code ec;
    if (config_.state_file.empty() || !std::filesystem::exists(config_.state_file, ec)) return {};
    try {
        return nlohmann::json::parse(core::read_file(config_.state_file));
    } catch (const std::exception& e) {
        core::log(core::log_level::warn, component, "ignoring ", config_.state_file.string(),
                  ": ", e.what());
        return {};
    }
}

void transfers::stop() {
    if (stopped_) return;
    stopped_ = true;
    for (auto& [id, in] : incoming_) {
        if (in.retry_timer) in.retry_timer->cancel();
    }
    worker_.reset();  // joins the worker; part files stay
}

void transfers::make_worker(std::uint16_t port) {
    auto cfg = config_.worker;
    cfg.listen_host = is_wildcard(listen_host_) ? "0.0.0.0" : listen_host_;
    cfg.port = port;
    file_worker::events ev;
    ev.hashed = [this](std::uint64_t job, std::optional<std::uint64_t> size, std::string sha256,
                       std::string error) {
        if (!stopped_) offer_hashed(job, size, sha256, error);
    };
    ev.progress = [this](const std::string& id, std::uint64_t bytes, std::uint64_t) {
        auto it = incoming_.find(id);
        if (stopped_ || it == incoming_.end() || it->second.info.state != "receiving") return;
        if (bytes > it->second.info.bytes) it->second.retries = 0;  // it moves: not stuck
        it->second.info.bytes = bytes;
        sink_.on_file_progress(it->second.info);
    };
    ev.received = [this](const std::string& id, const std::filesystem::path& path,
                         std::uint64_t size, const std::string&, std::uint64_t resumed_from) {
        auto it = incoming_.find(id);
        if (stopped_ || it == incoming_.end()) return;
        auto& info = it->second.info;
        info.state = "received";
        info.bytes = size;
        info.path = path.string();
        info.note.clear();
        core::log(core::log_level::info, component, "received ", info.name, " (", id,
                  ") into ", info.path, resumed_from ? ", resumed at byte " : "",
                  resumed_from ? std::to_string(resumed_from) : "");
        sink_.on_file_received(info);
        save();
    };
    ev.fetch_failed = [this](const std::string& id, const std::string& reason, bool resumable) {
        auto it = incoming_.find(id);
        if (stopped_ || it == incoming_.end() || it->second.info.state != "receiving") return;
        auto& in = it->second;
        in.info.state = resumable ? "interrupted" : "failed";
        in.info.note = reason;
        std::string told = reason;
        if (resumable) {
            told += "; the " + human_size(in.info.bytes) +
                    " received are kept, and it resumes when the sender is back or on /accept " +
                    short_id(id);
        }
        sink_.on_file_failed(in.info, told, resumable);
        if (resumable) schedule_retry(in);
        save();
    };
    ev.sent = [this](const std::string& id, const std::string& peer_id, std::uint64_t offset,
                     std::uint64_t bytes) {
        auto it = outgoing_.find(id);
        if (stopped_ || it == outgoing_.end()) return;
        core::log(core::log_level::info, component, "sent ", it->second.info.name, " to ",
                  peer_id, ": ", bytes, " bytes from offset ", offset);
        sink_.on_file_sent(it->second.info, hooks_.nick_of(peer_id), bytes);
    };
    ev.upload_failed = [](const std::string& id, const std::string& peer_id,
                          const std::string& reason) {
        core::log(core::log_level::info, component, "upload of ", id, " to ",
                  peer_id.empty() ? "?" : peer_id, " ended: ", reason);
    };
    worker_ = std::make_unique<file_worker>(io_.get_executor(), cfg, std::move(ev));
}

void transfers::send(const std::string& args, const std::string& room) {
    std::filesystem::path path = expand_home(args);
    std::string to;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        // "/send my file.txt bob": the last word is a nick when the whole is not a file.
        const auto space = args.find_last_of(' ');
        std::filesystem::path shorter =
            space == std::string::npos ? "" : expand_home(args.substr(0, space));
        if (shorter.empty() || !std::filesystem::exists(shorter, ec)) {
            sink_.on_error("cannot send \"" + args + "\": no such file");
            return;
        }
        std::string error;
        to = hooks_.find_nick(args.substr(space + 1), &error);
        if (to.empty()) {
            sink_.on_error("cannot send " + shorter.string() + ": " + error);
            return;
        }
        path = shorter;
    }
    if (!std::filesystem::is_regular_file(path, ec)) {
        sink_.on_error("cannot send " + path.string() +
                       ": it is not a regular file (send a folder as an archive)");
        return;
    }
    const std::uint64_t job = next_job_++;
    hashing_[job] = {std::filesystem::absolute(path, ec), to, room};
    sink_.on_notice("hashing " + path.filename().string() + " before offering it");
    worker_->hash(job, hashing_[job].path);
}

void transfers::offer_hashed(std::uint64_t job, std::optional<std::uint64_t> size,
                             const std::string& sha256, const std::string& error) {
    auto node = hashing_.extract(job);
    if (node.empty()) return;
    const pending_send& pending = node.mapped();
    if (!size) {
        sink_.on_error("cannot send " + pending.path.string() + ": " + error);
        return;
    }
    protocol::file_offer offer;
    offer.id = random_transfer_id();
    offer.name = pending.path.filename().string();
    offer.size = *size;
    offer.sha256 = sha256;
    offer.port = worker_->port();
    offer.hosts = is_wildcard(listen_host_) ? hooks_.our_hosts()
                                            : std::vector<std::string>{listen_host_};
    if (offer.hosts.size() > protocol::max_offer_hosts) offer.hosts.resize(protocol::max_offer_hosts);
    offer.to = pending.to;

    outgoing out;
    out.info = {offer.id, offer.name, offer.size, offer.sha256, hooks_.nick_of(our_id_),
                our_id_, offer.to, true, "offered", 0, pending.path.string(), "", pending.room};
    if (!offer.to.empty()) out.allowed.push_back(offer.to);
    worker_->serve({offer.id, pending.path, offer.size, offer.sha256, out.allowed});
    hooks_.publish_offer(pending.room, "offers a file: " + offer.name + " (" + human_size(offer.size) + ")",
                         protocol::file_offer_to_json(offer));
    sink_.on_file_offer(out.info);
    outgoing_[offer.id] = std::move(out);
    save();
}

void transfers::on_offer(const std::string& room, const std::string& from_id,
                         const std::string& from_nick, const protocol::file_offer& offer) {
    if (from_id == our_id_ || (!offer.to.empty() && offer.to != our_id_)) return;
    if (incoming_.count(offer.id)) return;
    incoming in;
    in.offer = offer;
    in.info = {offer.id, offer.name, offer.size, offer.sha256, from_nick, from_id, offer.to,
               false, "offered", 0, "", "", room};
    auto& stored = incoming_[offer.id] = std::move(in);
    sink_.on_file_offer(stored.info);
    if (offer.size > config_.max_file_size) {
        stored.info.state = "rejected";
        stored.info.note = "too large: " + human_size(offer.size) + "; the limit is " +
                           human_size(config_.max_file_size) + " (--max-file-size)";
        sink_.on_file_failed(stored.info, stored.info.note, false);
        return;
    }
    if (config_.auto_accept) start_fetch(stored);
    save();
}

void transfers::on_peer_up(const std::string& peer_id) {
    for (auto& [id, in] : incoming_) {
        if (in.info.peer_id == peer_id && in.info.state == "interrupted") {
            in.retries = 0;
            start_fetch(in);
        }
    }
}

void transfers::accept(const std::string& prefix) {
    incoming* in = find_incoming(prefix, true);
    if (!in) return;
    const auto& state = in->info.state;
    if (state == "receiving") {
        sink_.on_notice(in->info.name + " is already being received");
    } else if (state == "received") {
        sink_.on_notice(in->info.name + " was already received: " + in->info.path);
    } else if (state == "rejected" && !in->info.note.empty()) {
        sink_.on_error("cannot accept " + in->info.name + ": " + in->info.note);
    } else {
        in->retries = 0;
        sink_.on_notice("receiving " + in->info.name + " (" + human_size(in->info.size) +
                        ") from " + in->info.from + " into " + config_.downloads_dir.string());
        start_fetch(*in);
    }
}

fetch_job transfers::make_job(const incoming& in) const {
    fetch_job job;
    job.transfer_id = in.offer.id;
    job.name = in.offer.name;
    job.size = in.offer.size;
    job.sha256 = in.offer.sha256;
    job.sender_id = in.info.peer_id;
    job.our_peer_id = our_id_;
    job.downloads_dir = config_.downloads_dir;
    // The host we already reach the sender at comes first: it is known to work from here.
    std::vector<std::string> hosts;
    if (auto known = hooks_.host_of(in.info.peer_id); !known.empty()) hosts.push_back(known);
    for (const auto& h : in.offer.hosts) {
        if (std::find(hosts.begin(), hosts.end(), h) == hosts.end()) hosts.push_back(h);
    }
    for (const auto& h : hosts) {
        job.addresses.push_back(protocol::host_port{h, in.offer.port}.to_string());
    }
    return job;
}

void transfers::start_fetch(incoming& in) {
    fetch_job job = make_job(in);
    if (job.addresses.empty()) {
        in.info.state = "interrupted";
        sink_.on_file_failed(in.info,
                             "no address for " + in.info.from +
                                 "'s file service yet; it resumes when the sender connects",
                             true);
        return;
    }
    in.info.state = "receiving";
    in.info.note.clear();
    worker_->fetch(std::move(job));
    save();
}

void transfers::schedule_retry(incoming& in) {
    // A sender that is gone is waited for (on_peer_up); one still here gets a few retries.
    if (hooks_.host_of(in.info.peer_id).empty() || in.retries >= max_auto_retries) return;
    ++in.retries;
    if (!in.retry_timer) in.retry_timer = std::make_shared<asio::steady_timer>(io_);
    in.retry_timer->expires_after(retry_delay * in.retries);
    in.retry_timer->async_wait([this, id = in.offer.id](const std::error_code& ec) {
        if (ec || stopped_) return;
        auto it = incoming_.find(id);
        if (it != incoming_.end() && it->second.info.state == "interrupted") {
            start_fetch(it->second);
        }
    });
}

void transfers::reject(const std::string& prefix) {
    incoming* in = find_incoming(prefix, true);
    if (!in) return;
    if (in->info.state == "received") {
        sink_.on_error(in->info.name + " was already received: " + in->info.path);
        return;
    }
    if (in->info.state == "receiving") {
        worker_->cancel_fetch(in->offer.id, false);
    } else if (in->info.state == "interrupted") {
        worker_->discard_part(make_job(*in));
    }
    in->info.state = "rejected";
    sink_.on_notice("rejected " + in->info.name + " from " + in->info.from);
    save();
}

void transfers::cancel(const std::string& prefix) {
    if (outgoing* out = find_outgoing(prefix, false)) {
        worker_->withdraw(out->info.transfer);
        out->info.state = "cancelled";
        sink_.on_notice("withdrew the offer of " + out->info.name + "; nobody can fetch it now");
        outgoing_.erase(out->info.transfer);
        save();
        return;
    }
    incoming* in = find_incoming(prefix, true);
    if (!in) return;
    const auto& state = in->info.state;
    if (state == "received" || state == "rejected" || state == "cancelled") {
        sink_.on_error(in->info.name + " is not in progress (" + state + ")");
        return;
    }
    if (state == "receiving") {
        worker_->cancel_fetch(in->offer.id, false);
    } else {
        worker_->discard_part(make_job(*in));  // an interrupted download's part file
    }
    if (in->retry_timer) in->retry_timer->cancel();
    in->info.state = "cancelled";
    sink_.on_notice("cancelled " + in->info.name + "; what had arrived is deleted");
    save();
}

void transfers::list() {
    std::vector<file_info> all;
    for (const auto& [id, out] : outgoing_) all.push_back(out.info);
    for (const auto& [id, in] : incoming_) all.push_back(in.info);
    sink_.on_files(all);
}

transfers::incoming* transfers::find_incoming(const std::string& prefix, bool report) {
    std::string error;
    incoming* found = nullptr;
    if (prefix.size() < min_id_prefix) {
        error = "give at least " + std::to_string(min_id_prefix) +
                " characters of the transfer id (/files lists them)";
    } else {
        for (auto& [id, in] : incoming_) {
            if (!id.starts_with(prefix)) continue;
            if (found) {
                error = "\"" + prefix + "\" matches more than one transfer; give more of the id";
                found = nullptr;
                break;
            }
            found = &in;
        }
        if (!found && error.empty()) error = "no transfer " + prefix + " (/files lists them)";
    }
    if (!found && report) sink_.on_error(error);
    return found;
}

transfers::outgoing* transfers::find_outgoing(const std::string& prefix, bool report) {
    if (prefix.size() < min_id_prefix) return nullptr;
    outgoing* found = nullptr;
    for (auto& [id, out] : outgoing_) {
        if (!id.starts_with(prefix)) continue;
        if (found) return nullptr;  // ambiguous: find_incoming reports it
        found = &out;
    }
    if (!found && report) sink_.on_error("no offer " + prefix + " of yours");
    return found;
}

// Only what can still do something is kept: open offers, and downloads not over.
void transfers::save() const {
    if (config_.state_file.empty()) return;
    auto out = nlohmann::json::array();
    for (const auto& [id, o] : outgoing_) out.push_back(info_json(o.info));
    auto in = nlohmann::json::array();
    for (const auto& [id, i] : incoming_) {
        const auto& s = i.info.state;
        if (s != "offered" && s != "receiving" && s != "interrupted") continue;
        auto j = info_json(i.info);
        j["offer"] = protocol::file_offer_to_json(i.offer);
        in.push_back(std::move(j));
    }
    try {
        const nlohmann::json state{
            {"service_port", worker_ ? worker_->port() : 0}, {"outgoing", out}, {"incoming", in}};
        core::write_file_atomically(config_.state_file, state.dump(1), 0600);
    } catch (const std::exception& e) {
        core::log(core::log_level::warn, component, "cannot save transfers: ", e.what());
    }
}

void transfers::load(const nlohmann::json& j) {
    if (!j.is_object()) return;
    std::error_code ec;
    try {
        for (const auto& o : j.at("outgoing")) {
            outgoing out;
            out.info = info_from_json(o);
            out.info.outgoing = true;
            if (!std::filesystem::is_regular_file(out.info.path, ec)) {
                core::log(core::log_level::warn, component, "offered file ", out.info.path,
                          " is gone; the offer is withdrawn");
                continue;
            }
            if (!out.info.to.empty()) out.allowed.push_back(out.info.to);
            worker_->serve({out.info.transfer, out.info.path, out.info.size, out.info.sha256,
                            out.allowed});
            outgoing_[out.info.transfer] = std::move(out);
        }
        for (const auto& i : j.at("incoming")) {
            std::string error;
            auto offer = protocol::parse_file_offer(nlohmann::json{{"file", i.at("offer")}}, &error);
            if (!offer) continue;
            incoming in;
            in.info = info_from_json(i);
            in.offer = *offer;
            auto& stored = incoming_[offer->id] = std::move(in);
            // A download cut by the restart picks up where its part file ends.
            if (stored.info.state != "offered") start_fetch(stored);
        }
    } catch (const std::exception& e) {
        core::log(core::log_level::warn, component, "ignoring ", config_.state_file.string(),
                  ": ", e.what());
    }
}

}  // namespace confab::peer
