// The one translation unit that compiles Asio's implementation (ASIO_SEPARATE_COMPILATION),
// so that no other file pays for it.
#include <asio/impl/src.hpp>
#include <asio/ssl/impl/src.hpp>
