#include "peer/link.hpp"

namespace confab::peer {

frame_ptr make_frame(const protocol::message& m) {
    return std::make_shared<const std::string>(protocol::encode_frame(protocol::serialize(m)));
}

// The one place the link template is compiled for the product's stream.
template class link<asio::ip::tcp::socket>;

}  // namespace confab::peer
