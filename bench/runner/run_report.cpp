// Joins run_bench's results (one JSON file per system and size) into bench/run's one table,
// printed as Markdown, and writes them as one JSON file and one TSV for gnuplot.
//
// usage: run_report --json OUT.json --tsv OUT.tsv [--title TEXT] PART.json...

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

using json = nlohmann::json;

double num(const json& j, std::initializer_list<const char*> path, double fallback = -1) {
    const json* at = &j;
    for (const char* key : path) {
        if (!at->is_object() || !at->contains(key)) return fallback;
        at = &(*at)[key];
    }
    return at->is_number() ? at->get<double>() : fallback;
}

std::string fixed(double v, int decimals) {
    if (v < 0) return "–";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

// Milliseconds with as many decimals as a reader needs.
std::string ms(double v) {
    return fixed(v, v < 10 ? 2 : v < 100 ? 1 : 0);
}

std::string latency(const json& run, const char* phase) {
    if (!run.is_object() || !run.contains(phase)) return "–";
    const auto& p = run[phase];
    std::string s = ms(num(p, {"p50_ms"})) + " / " + ms(num(p, {"p99_ms"})) + " / " +
                    ms(num(p, {"max_ms"}));
    const double lost = num(p, {"not_everywhere"}, 0);
    if (lost > 0) s += " (" + fixed(lost, 0) + " not everywhere)";
    return s;
}

std::string ratio(double a, double b) {
    if (a < 0 || b <= 0) return "–";
    return fixed(a / b, a / b < 10 ? 1 : 0) + "x";
}

std::string rate(const json& run) {
    if (!run.is_object() || !run.contains("rate")) return "–";
    const auto& r = run["rate"];
    const double ok = num(r, {"max_sustained"}), failed = num(r, {"lowest_failed"});
    // Not even the lowest rate tried held: say below what.
    if (ok <= 0 && failed > 0) return "< " + fixed(failed, failed < 10 ? 1 : 0);
    std::string s = fixed(ok, 0);
    if (r.value("capped", false)) s = "≥ " + s;
    return s;
}

std::string tsv(double v) {
    if (v < 0) return "?";
    std::ostringstream o;
    o << v;
    return o.str();
}

}  // namespace

int main(int argc, char** argv) {
    std::string json_out, tsv_out, title;
    std::vector<std::string> parts;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if ((a == "--json" || a == "--tsv" || a == "--title") && i + 1 < argc) {
            (a == "--json" ? json_out : a == "--tsv" ? tsv_out : title) = argv[++i];
        } else {
            parts.push_back(a);
        }
    }
    // By size, then system.
    std::map<std::size_t, std::map<std::string, json>> runs;
    json all = json::array();
    for (const auto& path : parts) {
        std::ifstream in(path);
        auto j = json::parse(in, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
            std::fprintf(stderr, "run_report: %s is not a result; skipped\n", path.c_str());
            continue;
        }
        runs[j.value("peers", std::size_t{0})][j.value("system", "")] = j;
        all.push_back(j);
    }

    std::string table;
    table += "| peers | mesh formed (IRC) | one sender p50 / p99 / max | IRC | p99 ratio "
             "| rotating senders p50 / p99 / max | IRC | p99 ratio | copies per peer per msg "
             "| wire bytes per delivery (IRC) | CPU per msg (IRC server) "
             "| RSS / private per peer | max rate, nothing lost (IRC) |\n";
    table += "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
    std::string data =
        "# peers\tconfab_p50\tconfab_p99\tconfab_max\tirc_p50\tirc_p99\tirc_max\t"
        "confab_rot_p99\tirc_rot_p99\tcopies\twire_bytes\tconfab_cpu_ms\tirc_cpu_ms\t"
        "confab_rate\tirc_rate\tmesh_formed_ms\trss_mib\tanon_mib\n";
    std::vector<std::string> errors;
    for (const auto& [n, by_system] : runs) {
        const json none = json::object();
        const auto& c = by_system.count("confab") ? by_system.at("confab") : none;
        const auto& i = by_system.count("irc") ? by_system.at("irc") : none;
        for (const auto* r : {&c, &i}) {
            if (r->contains("error"))
                errors.push_back(r->value("system", "") + " at " + std::to_string(n) + ": " +
                                 (*r)["error"].get<std::string>());
        }
        const double formed = num(c, {"mesh_formed", "ms"});
        const double irc_formed = num(i, {"mesh_formed", "ms"});
        table += "| " + std::to_string(n) + " | " + (formed < 0 ? "–" : ms(formed) + " ms") +
                 " (" + ms(irc_formed) + ") | " + latency(c, "one_sender") + " | " + latency(i, "one_sender") + " | " +
                 ratio(num(c, {"one_sender", "p99_ms"}), num(i, {"one_sender", "p99_ms"})) +
                 " | " + latency(c, "rotating") + " | " + latency(i, "rotating") + " | " +
                 ratio(num(c, {"rotating", "p99_ms"}), num(i, {"rotating", "p99_ms"})) + " | " +
                 fixed(num(c, {"one_sender", "copies_per_delivery"}), 2) + " | " +
                 fixed(num(c, {"one_sender", "wire_bytes_per_delivery"}), 0) + " (" +
                 fixed(num(i, {"one_sender", "wire_bytes_per_delivery"}), 0) + ") | " +
                 ms(num(c, {"one_sender", "cpu_ms_per_message"})) + " ms (" +
                 ms(num(i, {"one_sender", "cpu_ms_per_message"})) + ") | " +
                 fixed(num(c, {"memory", "rss_mib_mean"}), 1) + " / " +
                 fixed(num(c, {"memory", "anon_mib_mean"}), 1) + " MiB | " + rate(c) + " (" +
                 rate(i) + ") |\n";
        data += std::to_string(n);
        for (double v :
             {num(c, {"one_sender", "p50_ms"}), num(c, {"one_sender", "p99_ms"}),
              num(c, {"one_sender", "max_ms"}), num(i, {"one_sender", "p50_ms"}),
              num(i, {"one_sender", "p99_ms"}), num(i, {"one_sender", "max_ms"}),
              num(c, {"rotating", "p99_ms"}), num(i, {"rotating", "p99_ms"}),
              num(c, {"one_sender", "copies_per_delivery"}),
              num(c, {"one_sender", "wire_bytes_per_delivery"}),
              num(c, {"one_sender", "cpu_ms_per_message"}),
              num(i, {"one_sender", "cpu_ms_per_message"}), num(c, {"rate", "max_sustained"}),
              num(i, {"rate", "max_sustained"}), formed, num(c, {"memory", "rss_mib_mean"}),
              num(c, {"memory", "anon_mib_mean"})}) {
            data += "\t" + tsv(v);
        }
        data += "\n";
    }

    if (!title.empty()) std::printf("%s\n\n", title.c_str());
    std::printf("%s", table.c_str());
    for (const auto& e : errors) std::printf("\nfailed: %s\n", e.c_str());
    if (!json_out.empty()) {
        std::ofstream out(json_out);
        out << json{{"title", title}, {"table", table}, {"runs", all}}.dump(1) << "\n";
    }
    if (!tsv_out.empty()) {
        std::ofstream out(tsv_out);
        out << data;
    }
    return errors.empty() ? 0 : 1;
}
