#pragma once
// Picking out of a state machine's actions what a test is about. Test thread only.

#include <string>
#include <utility>
#include <vector>

#include "core/overlay/actions.hpp"

namespace confab::test {

// The frames of type T sent, with whom to.
template <class T>
std::vector<std::pair<core::overlay::peer_id, T>> frames_of(const core::overlay::actions& out) {
    std::vector<std::pair<core::overlay::peer_id, T>> found;
    for (const auto& a : out) {
        if (const auto* s = std::get_if<core::overlay::send_frame>(&a)) {
            if (const auto* f = std::get_if<T>(&s->frame)) found.emplace_back(s->to, *f);
        }
    }
    return found;
}

// The actions of type T, in order.
template <class T>
std::vector<T> actions_of(const core::overlay::actions& out) {
    std::vector<T> found;
    for (const auto& a : out) {
        if (const auto* x = std::get_if<T>(&a)) found.push_back(*x);
    }
    return found;
}

}  // namespace confab::test
