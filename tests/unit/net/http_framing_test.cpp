#include "net/http_framing.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace {

namespace http = boost::beast::http;

stirgate::net::http_request with_te(std::initializer_list<const char*> values, unsigned version = 11)
{
    stirgate::net::http_request r{http::verb::post, "/x", version};
    for (const char* v : values) r.insert(http::field::transfer_encoding, v);
    return r;
}

}  // namespace

TEST_CASE("only a single chunked Transfer-Encoding on HTTP/1.1 is an acceptable framing",
          "[net][fault]")
{
    using stirgate::net::acceptable_transfer_encoding;
    CHECK(acceptable_transfer_encoding(with_te({})));
    CHECK(acceptable_transfer_encoding(with_te({"chunked"})));
    CHECK(acceptable_transfer_encoding(with_te({"Chunked"})));
    CHECK(acceptable_transfer_encoding(with_te({" chunked\t"})));

    CHECK_FALSE(acceptable_transfer_encoding(with_te({"chunked, identity"})));
    CHECK_FALSE(acceptable_transfer_encoding(with_te({"identity"})));
    CHECK_FALSE(acceptable_transfer_encoding(with_te({"gzip, chunked"})));
    CHECK_FALSE(acceptable_transfer_encoding(with_te({"identity chunked"})));  // obs-fold unfolded
    CHECK_FALSE(acceptable_transfer_encoding(with_te({"\"chunked\""})));
    CHECK_FALSE(acceptable_transfer_encoding(with_te({"xchunked"})));
    CHECK_FALSE(acceptable_transfer_encoding(with_te({""})));
    CHECK_FALSE(acceptable_transfer_encoding(with_te({"identity", "chunked"})));
    CHECK_FALSE(acceptable_transfer_encoding(with_te({"chunked", "chunked"})));
    CHECK_FALSE(acceptable_transfer_encoding(with_te({"chunked"}, 10)));
}
