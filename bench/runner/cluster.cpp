#include "bench/runner/cluster.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

namespace confab::bench {

volatile std::sig_atomic_t stop_requested = 0;

proc_sample sample_process(pid_t pid) {
    proc_sample s;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmRSS:", 0) == 0) s.rss_mib = std::atof(line.c_str() + 6) / 1024.0;
        if (line.rfind("RssAnon:", 0) == 0) s.anon_mib = std::atof(line.c_str() + 8) / 1024.0;
    }
    std::ifstream stat_file("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), {});
    // The command name sits in parentheses and may hold spaces: count fields after it.
    auto close = stat.rfind(')');
    if (close != std::string::npos && close + 2 < stat.size()) {
        std::istringstream rest(stat.substr(close + 2));
        std::string field;
        // rest starts at field 3 (state); utime and stime are fields 14 and 15.
        for (int i = 3; i <= 15 && rest >> field; ++i) {
            if (i == 14 || i == 15) s.cpu_ticks += std::atol(field.c_str());
        }
    }
    return s;
}

memory summarise(const std::vector<proc_sample>& samples) {
    memory m;
    if (samples.empty()) return m;
    for (const auto& s : samples) {
        m.rss_mib_mean += s.rss_mib;
        m.anon_mib_mean += s.anon_mib;
        m.rss_mib_max = std::max(m.rss_mib_max, s.rss_mib);
        m.anon_mib_max = std::max(m.anon_mib_max, s.anon_mib);
    }
    m.rss_mib_mean /= static_cast<double>(samples.size());
    m.anon_mib_mean /= static_cast<double>(samples.size());
    return m;
}

}  // namespace confab::bench
