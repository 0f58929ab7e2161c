#include "core/json.hpp"

#include <algorithm>
#include <vector>

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace stirgate::core {
namespace {

constexpr int max_depth = 64;
// Objects with at most this many members are checked for duplicate names pair by pair.
constexpr std::size_t small_object = 16;

bool name_less(const rapidjson::Value* a, const rapidjson::Value* b)
{
    return string_view_of(*a) < string_view_of(*b);
}

// Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing past U+10FFFF.
bool valid_utf8(std::string_view s)
{
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        const unsigned c = *p++;
        if (c < 0x80) continue;
        int more = 0;
        unsigned code = 0;
        unsigned min = 0;
        if ((c & 0xE0) == 0xC0) { more = 1; code = c & 0x1F; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { more = 2; code = c & 0x0F; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { more = 3; code = c & 0x07; min = 0x10000; }
        else return false;
        if (end - p < more) return false;
        for (int i = 0; i < more; ++i) {
            if ((p[i] & 0xC0) != 0x80) return false;
            code = (code << 6) | (p[i] & 0x3F);
        }
        p += more;
        if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    }
    return true;
}

// RFC 8225 section 9 forbids duplicate member names; RapidJSON keeps them all, so a verifier
// reading the first "orig" could disagree with another reading the last. RapidJSON 1.1 also
// turns a lone surrogate escape ("\uDCDE") into bytes that are not UTF-8, which no JSON
// writer or parser downstream would take back; such text is refused here.
result<void> check_object_tree(const rapidjson::Value& v, int depth)
{
    if (depth > max_depth) return error{errc::json_invalid, "JSON nested too deeply"};
    if (v.IsString() && !valid_utf8(string_view_of(v)))
        return error{errc::json_invalid, "string holds an unpaired surrogate escape"};
    if (v.IsObject()) {
        for (const auto& m : v.GetObject()) {
            if (!valid_utf8(string_view_of(m.name)))
                return error{errc::json_invalid, "member name holds an unpaired surrogate escape"};
            if (auto r = check_object_tree(m.value, depth + 1); !r) return r;
        }
        const rapidjson::Value* dup = nullptr;
        if (v.MemberCount() < 2) {
            // nothing to compare
        } else if (v.MemberCount() <= small_object) {
            // The usual PASSporT or API object: pairwise, without allocating.
            const auto* members = &*v.MemberBegin();
            const std::size_t n = v.MemberCount();
            for (std::size_t i = 0; i < n && !dup; ++i)
                for (std::size_t j = i + 1; j < n; ++j)
                    if (string_view_of(members[i].name) == string_view_of(members[j].name)) {
                        dup = &members[i].name;
                        break;
                    }
        } else {
            std::vector<const rapidjson::Value*> names;
            names.reserve(v.MemberCount());
            for (const auto& m : v.GetObject()) names.push_back(&m.name);
            std::sort(names.begin(), names.end(), name_less);
            const auto it = std::adjacent_find(names.begin(), names.end(), [](auto* a, auto* b) {
                return string_view_of(*a) == string_view_of(*b);
            });
            if (it != names.end()) dup = *it;
        }
        if (dup != nullptr)
            return error{errc::json_invalid,
                         "duplicate member name \"" + std::string(string_view_of(*dup)) + "\""};
    } else if (v.IsArray()) {
        for (const auto& e : v.GetArray())
            if (auto r = check_object_tree(e, depth + 1); !r) return r;
    }
    return ok();
}

error type_error(errc code, std::string_view name, const char* expected)
{
    return error{code, "\"" + std::string(name) + "\" is not " + expected};
}

error missing_error(errc code, std::string_view name)
{
    return error{code, "\"" + std::string(name) + "\" is missing"};
}

using canonical_writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_sorted(canonical_writer& w, const rapidjson::Value& v)
{
    if (v.IsObject()) {
        std::vector<const rapidjson::Value::Member*> members;
        members.reserve(v.MemberCount());
        for (const auto& m : v.GetObject()) members.push_back(&m);
        std::stable_sort(members.begin(), members.end(), [](auto* a, auto* b) {
            return string_view_of(a->name) < string_view_of(b->name);
        });
        w.StartObject();
        for (const auto* m : members) {
            w.Key(m->name.GetString(), m->name.GetStringLength(), false);
            write_sorted(w, m->value);
        }
        w.EndObject();
    } else if (v.IsArray()) {
        w.StartArray();
        for (const auto& e : v.GetArray()) write_sorted(w, e);
        w.EndArray();
    } else {
        v.Accept(w);
    }
}

}  // namespace

result<rapidjson::Document> parse_json_object(std::string_view bytes)
{
    rapidjson::Document doc;
    // Iterative parsing keeps hostile nesting off the stack; encoding validation rejects
    // invalid UTF-8 instead of passing it on into claims.
    doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(bytes.data(),
                                                                                       bytes.size());
    if (doc.HasParseError())
        return error{errc::json_invalid, std::string(rapidjson::GetParseError_En(doc.GetParseError())) +
                                             " at offset " + std::to_string(doc.GetErrorOffset())};
    if (!doc.IsObject()) return error{errc::json_invalid, "JSON value is not an object"};
    if (auto r = check_object_tree(doc, 0); !r) return std::move(r).err();
    return doc;
}

const rapidjson::Value* find_member(const rapidjson::Value& obj, std::string_view name)
{
    if (!obj.IsObject()) return nullptr;
    for (const auto& m : obj.GetObject())
        if (string_view_of(m.name) == name) return &m.value;
    return nullptr;
}

result<std::string_view> get_string(const rapidjson::Value& obj, std::string_view name, errc on_error)
{
    const auto* v = find_member(obj, name);
    if (v == nullptr) return missing_error(on_error, name);
    if (!v->IsString()) return type_error(on_error, name, "a string");
    return string_view_of(*v);
}

result<std::int64_t> get_int64(const rapidjson::Value& obj, std::string_view name, errc on_error)
{
    const auto* v = find_member(obj, name);
    if (v == nullptr) return missing_error(on_error, name);
    // RapidJSON parses 1.0 and 1e3 as doubles, so IsInt64 alone excludes them; strings fail too.
    if (!v->IsInt64() || v->IsDouble()) return type_error(on_error, name, "a JSON integer");
    return std::int64_t{v->GetInt64()};
}

result<bool> get_bool(const rapidjson::Value& obj, std::string_view name, errc on_error)
{
    const auto* v = find_member(obj, name);
    if (v == nullptr) return missing_error(on_error, name);
    if (!v->IsBool()) return type_error(on_error, name, "a boolean");
    return v->GetBool();
}

result<const rapidjson::Value*> get_object(const rapidjson::Value& obj, std::string_view name,
                                           errc on_error)
{
    const auto* v = find_member(obj, name);
    if (v == nullptr) return missing_error(on_error, name);
    if (!v->IsObject()) return type_error(on_error, name, "an object");
    return v;
}

result<const rapidjson::Value*> get_array(const rapidjson::Value& obj, std::string_view name,
                                          errc on_error)
{
    const auto* v = find_member(obj, name);
    if (v == nullptr) return missing_error(on_error, name);
    if (!v->IsArray()) return type_error(on_error, name, "an array");
    return v;
}

std::string write_canonical_json(const rapidjson::Value& value)
{
    rapidjson::StringBuffer buffer;
    canonical_writer writer(buffer);
    write_sorted(writer, value);
    return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace stirgate::core
