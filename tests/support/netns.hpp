#pragma once
// Network namespaces that a test makes and removes itself, for faults a loopback mesh cannot
// show (a cable cut, NAT later): namespaces, veth pairs between them, and a cut that drops
// packets silently. Needs root (or CAP_NET_ADMIN + CAP_SYS_ADMIN) and iproute2; nftables is
// used for the cut when present. Single-threaded: one test thread owns a netns_lab.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace confab::test {

// The outcome of one command run by run_command.
struct command_result {
    int status = -1;     // exit code, 128 + signal, or -1 when it did not end in time
    std::string output;  // stdout and stderr together
};

// Runs argv[0] (a path, or a name looked up in PATH, /usr/sbin and /sbin) with argv, bounded
// by `timeout` (killed after it). Never throws for a failing command, only for a failed spawn.
command_result run_command(const std::vector<std::string>& argv,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Empty when this process can make a namespace with a veth pair in it (found out by trying,
// and cleaned up); otherwise a sentence saying why not, for a skip message.
std::string netns_unavailable_reason();

// Namespaces named "cfz<pid>-<name>" (the pid of the test process, so that concurrent runs do
// not collide), removed with everything in them by the destructor, even when the test fails.
// Made ones of an earlier run whose process is gone are removed at construction.
class netns_lab {
public:
    netns_lab();
    ~netns_lab();
    netns_lab(const netns_lab&) = delete;
    netns_lab& operator=(const netns_lab&) = delete;

    // Makes a namespace with its loopback up; returns its full name.
    std::string add_namespace(std::string_view name);

    // A veth pair between two namespaces, each end called `ifname` inside its namespace, with
    // the given address ("10.77.0.1/24") and up. Made directly inside the namespaces, so no
    // interface name ever exists in the host's namespace.
    void add_link(const std::string& ns_a, const std::string& addr_a, const std::string& ns_b,
                  const std::string& addr_b, const std::string& ifname = "cfz0");

    // From now on every packet in or out of `ifname` in `ns` is dropped without a word (no
    // RST, no ICMP), as a pulled cable: with nftables a drop rule, else the link is set down.
    void cut(const std::string& ns, const std::string& ifname = "cfz0");
    // Undoes cut().
    void heal(const std::string& ns, const std::string& ifname = "cfz0");
    // "nftables" or "link down": how cut() works here.
    std::string cut_method() const;

    // Prefix for a command to run inside `ns` (peer_options::wrapper): `ip netns exec` execs
    // in place, so the pid is the command's own.
    std::vector<std::string> exec_prefix(const std::string& ns) const;

    // Runs `ip ARGS...`; throws std::runtime_error with its output when it fails.
    void ip(const std::vector<std::string>& args);

    // Removes namespaces named "cfz<pid>-*" whose pid no longer runs.
    static void remove_leftovers();

private:
    void run_or_throw(const std::vector<std::string>& argv);

    std::string prefix_;
    std::vector<std::string> made_;
    std::string ip_;
    std::string nft_;  // empty when nftables is missing
};

}  // namespace confab::test
