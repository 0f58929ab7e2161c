#pragma once
// Shared by the fuzz targets: vector files for fixed keys, and a check that stops the fuzzer
// with a message (libFuzzer records the input that got there).

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace stirgate::fuzz {

// A file under tests/vectors; aborts when missing (a broken checkout, not a finding).
inline std::string read_vector(std::string_view relative)
{
    const std::string path = std::string(STIRGATE_VECTORS_DIR) + "/" + std::string(relative);
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "fuzz: cannot read %s\n", path.c_str());
        std::abort();
    }
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

[[noreturn]] inline void fail(const char* what, const char* file, int line)
{
    std::fprintf(stderr, "fuzz invariant broken at %s:%d: %s\n", file, line, what);
    std::abort();
}

}  // namespace stirgate::fuzz

// An invariant of the code under test; unlike assert it stays on in every build.
#define FUZZ_CHECK(cond) \
    ((cond) ? (void)0 : ::stirgate::fuzz::fail(#cond, __FILE__, __LINE__))
