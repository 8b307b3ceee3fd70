#include "peer/link.hpp"

#include "peer/tls.hpp"

namespace confab::peer {

frame_ptr make_frame(const protocol::message& m) {
    return std::make_shared<const std::string>(protocol::encode_frame(protocol::serialize(m)));
}

// The one place the link template is compiled: over TLS for the product, over plain TCP for
// the link's own tests.
template class link<tls_stream>;
template class link<asio::ip::tcp::socket>;

}  // namespace confab::peer
