#pragma once
// std::visit with one lambda per alternative: std::visit(overloaded{[](a&){}, [](b&){}}, v).

namespace confab::core {

template <typename... Fs>
struct overloaded : Fs... {
    using Fs::operator()...;
};
template <typename... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

}  // namespace confab::core
