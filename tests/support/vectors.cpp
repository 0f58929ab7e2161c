#include "support/vectors.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace stirgate::test {

std::string vector_path(std::string_view relative)
{
    return std::string(STIRGATE_VECTORS_DIR) + "/" + std::string(relative);
}

std::string read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::string read_vector(std::string_view relative) { return read_file(vector_path(relative)); }

rapidjson::Document load_vector_json(std::string_view relative)
{
    rapidjson::Document doc;
    const std::string text = read_vector(relative);
    doc.Parse(text.c_str(), text.size());
    if (doc.HasParseError()) throw std::runtime_error("bad JSON in " + std::string(relative));
    return doc;
}

}  // namespace stirgate::test
