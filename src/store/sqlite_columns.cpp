// sqlite_store: parameter binding, column reading and the JSON text of list columns.

#include "store/sqlite_columns.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace stirgate::store::sqlite {

// Binding and reading, with the column/parameter index as SQLite counts it.
void bind(sqlite3_stmt* s, int i, std::string_view v)
{
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
void bind(sqlite3_stmt* s, int i, std::int64_t v)
{
    sqlite3_bind_int64(s, i, v);
}
void bind(sqlite3_stmt* s, int i, const std::optional<std::string>& v)
{
    if (v)
        bind(s, i, std::string_view(*v));
    else
        sqlite3_bind_null(s, i);
}
void bind(sqlite3_stmt* s, int i, const std::optional<std::int64_t>& v)
{
    if (v)
        bind(s, i, *v);
    else
        sqlite3_bind_null(s, i);
}

std::string column_text(sqlite3_stmt* s, int i)
{
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i))) : std::string();
}
std::optional<std::string> column_opt_text(sqlite3_stmt* s, int i)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
    return column_text(s, i);
}
std::int64_t column_int(sqlite3_stmt* s, int i)
{
    return sqlite3_column_int64(s, i);
}
std::optional<std::int64_t> column_opt_int(sqlite3_stmt* s, int i)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_int64(s, i);
}

namespace {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(json_writer& w, std::string_view s)
{
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

}  // namespace

std::string encode_strings(const std::vector<std::string>& values)
{
    std::size_t size = 2;
    for (const auto& v : values) size += v.size() + 3;  // quotes and comma; escapes may add more
    rapidjson::StringBuffer buf(nullptr, size + 16);
    json_writer w(buf);
    w.StartArray();
    for (const auto& v : values) write_string(w, v);
    w.EndArray();
    return {buf.GetString(), buf.GetSize()};
}

std::string encode_pairs(const std::vector<name_value>& values)
{
    rapidjson::StringBuffer buf;
    json_writer w(buf);
    w.StartArray();
    for (const auto& [name, value] : values) {
        w.StartArray();
        write_string(w, name);
        write_string(w, value);
        w.EndArray();
    }
    w.EndArray();
    return {buf.GetString(), buf.GetSize()};
}

namespace {

std::string string_of(const rapidjson::Value& v)
{
    return {v.GetString(), v.GetStringLength()};
}

}  // namespace

result<std::vector<std::string>> decode_strings(std::string_view text)
{
    rapidjson::Document doc;
    doc.Parse(text.data(), text.size());
    if (doc.HasParseError() || !doc.IsArray()) return error{errc::internal, "bad JSON list column"};
    std::vector<std::string> out;
    for (const auto& v : doc.GetArray()) {
        if (!v.IsString()) return error{errc::internal, "bad JSON list column"};
        out.push_back(string_of(v));
    }
    return out;
}

result<std::vector<name_value>> decode_pairs(std::string_view text)
{
    rapidjson::Document doc;
    doc.Parse(text.data(), text.size());
    if (doc.HasParseError() || !doc.IsArray()) return error{errc::internal, "bad JSON pair column"};
    std::vector<name_value> out;
    for (const auto& v : doc.GetArray()) {
        if (!v.IsArray() || v.Size() != 2 || !v[0].IsString() || !v[1].IsString())
            return error{errc::internal, "bad JSON pair column"};
        out.emplace_back(string_of(v[0]), string_of(v[1]));
    }
    return out;
}

}  // namespace stirgate::store::sqlite
