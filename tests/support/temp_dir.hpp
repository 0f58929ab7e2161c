#pragma once
// A fresh directory under $TMPDIR, removed with everything in it at scope exit.

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace stirgate::test {

class temp_dir final {
public:
    temp_dir()
    {
        std::string tmpl = (std::filesystem::temp_directory_path() / "stirgate-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~temp_dir()
    {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::filesystem::path& path() const { return path_; }

    // Writes `bytes` to path()/name and returns the full path.
    std::string write(const std::string& name, std::string_view bytes) const
    {
        const auto p = path_ / name;
        std::ofstream out(p, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (!out) throw std::runtime_error("cannot write " + p.string());
        return p.string();
    }

private:
    std::filesystem::path path_;
};

}  // namespace stirgate::test
