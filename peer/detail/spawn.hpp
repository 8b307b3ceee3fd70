#pragma once
// The completion handler of the network's top-level coroutines. Main thread.

#include <exception>
#include <string>

#include "core/log.hpp"

namespace confab::peer::detail {

// For co_spawn: an exception that escapes a top-level coroutine is a bug; say so.
inline auto log_exceptions(std::string what) {
    return [what = std::move(what)](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            core::log(core::log_level::error, "peer", what, " failed: ", ex.what());
        }
    };
}

}  // namespace confab::peer::detail
