#include "protocol/canonical.hpp"

#include "protocol/strict_json.hpp"
#include "protocol/validate.hpp"

namespace confab::protocol {
namespace {

using json = nlohmann::json;

std::optional<canonical_problem> find_problem(const json& v, const std::string& path) {
    const auto fail = [&](std::string problem) {
        return std::optional<canonical_problem>({path, std::move(problem)});
    };
    switch (v.type()) {
        case json::value_t::number_float:
            return fail("must not be a floating-point number");
        case json::value_t::number_unsigned:
            if (v.get<std::uint64_t>() > max_canonical_integer) {
                return fail("is an integer beyond 2^53");
            }
            return std::nullopt;
        case json::value_t::number_integer:
            if (v.get<std::int64_t>() < -static_cast<std::int64_t>(max_canonical_integer)) {
                return fail("is an integer beyond -2^53");
            }
            return std::nullopt;
        case json::value_t::string:
            if (!is_valid_utf8(v.get_ref<const std::string&>())) return fail("is not valid UTF-8");
            return std::nullopt;
        case json::value_t::object:
            for (const auto& [key, item] : v.items()) {
                // Named by its parent: an error quoting a broken key would not be UTF-8 either.
                if (!is_valid_utf8(key)) return fail("has a key that is not valid UTF-8");
                const auto item_path = path.empty() ? excerpt(key) : path + "." + excerpt(key);
                if (auto p = find_problem(item, item_path)) return p;
            }
            return std::nullopt;
        case json::value_t::array:
            for (std::size_t i = 0; i < v.size(); ++i) {
                if (auto p = find_problem(v[i], path + "[" + std::to_string(i) + "]")) return p;
            }
            return std::nullopt;
        default:
            // null, booleans; a `discarded` value never leaves the parser.
            return std::nullopt;
    }
}

}  // namespace

std::optional<canonical_problem> find_canonical_problem(const json& value) {
    return find_problem(value, "");
}

std::string canonical_bytes(const json& value) {
    // dump() with no indent writes no whitespace, nlohmann's std::map keeps keys in bytewise
    // order, and ensure_ascii=false leaves non-ASCII as raw UTF-8: the documented rules.
    return value.dump();
}

std::string canonical_bytes_unsigned(const json& envelope) {
    if (!envelope.is_object() || !envelope.contains(envelope_sig_field)) {
        return canonical_bytes(envelope);
    }
    json content = envelope;
    content.erase(envelope_sig_field);
    return canonical_bytes(content);
}

}  // namespace confab::protocol
