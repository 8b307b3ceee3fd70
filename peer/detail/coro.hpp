#pragma once
// Small coroutine helpers shared by the network code. Main thread.
//
// GCC 12 traps met in this code base; each was fixed by giving every co_await a statement
// of its own:
//  - `co_return co_await f();` compiled to an illegal instruction (SIGILL at run time);
//  - `cond ? co_await a() : co_await b()` misbehaved;
//  - a temporary converted to another type inside a co_await expression (a message struct
//    becoming protocol::message) crashed in free().

#include <chrono>

#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

namespace confab::peer::detail {

// On the I/O path errors are values: `auto [ec, n] = co_await sock.async_read_some(b,
// use_nothrow);`
constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

// Completes after `d`; meant for `co_await (work() || timeout(d))`.
inline asio::awaitable<void> timeout(std::chrono::steady_clock::duration d) {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    co_await timer.async_wait(use_nothrow);
}

}  // namespace confab::peer::detail

namespace confab::peer::detail {

// True once the coroutine was asked to stop (e.g. the other side of an `||` finished).
// Loops check it after each wait, because a cancelled wait looks like any other wake-up.
inline asio::awaitable<bool> cancelled() {
    auto state = co_await asio::this_coro::cancellation_state;
    co_return state.cancelled() != asio::cancellation_type::none;
}

// Waits until cancelled: the half of an `||` that only ends when the other half does.
inline asio::awaitable<void> wait_forever() {
    asio::steady_timer timer(co_await asio::this_coro::executor,
                             std::chrono::steady_clock::time_point::max());
    co_await timer.async_wait(use_nothrow);
}

}  // namespace confab::peer::detail
