#pragma once
// Access to the test vectors copied from spec/vectors into tests/vectors.

#include <string>
#include <string_view>

#include <rapidjson/document.h>

namespace stirgate::test {

// Absolute path of a file under tests/vectors, e.g. vector_path("pki/root-ca.cert.pem").
std::string vector_path(std::string_view relative);
// Whole file as bytes; throws std::runtime_error when it cannot be read (a broken checkout).
std::string read_file(const std::string& path);
std::string read_vector(std::string_view relative);
// Parsed JSON vector; throws on a parse error.
rapidjson::Document load_vector_json(std::string_view relative);
// Verification time shared by every case (manifest verify_at = 1767225605).
inline constexpr long long vectors_verify_at = 1767225605;

}  // namespace stirgate::test
