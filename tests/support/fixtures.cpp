#include "support/fixtures.hpp"

#include <chrono>
#include <optional>

#include <catch2/catch.hpp>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/calltoken.hpp"
#include "core/crypto.hpp"
#include "core/form.hpp"
#include "support/process.hpp"
#include "support/vectors.hpp"

namespace stirgate::test {

core::es256_private_key vector_private_key(std::string_view relative)
{
    auto key = core::es256_private_key::from_pem(read_vector(relative));
    REQUIRE(key);
    return *key;
}

core::es256_public_key vector_public_key(std::string_view relative)
{
    auto key = core::es256_public_key::from_pem(read_vector(relative));
    REQUIRE(key);
    return *key;
}

std::int64_t wall_now()
{
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string basic_auth(const std::string& sid, const std::string& token)
{
    return "Basic " + core::base64_encode(sid + ":" + token);
}

std::string g1_identity()
{
    const auto doc = load_vector_json("cases/G1_shaken_A.json");
    return doc["identity_headers"][0].GetString();
}

std::string mint_calltoken(const std::string& call_sid, const std::string& account,
                           const std::vector<std::string>& identities, std::int64_t iat,
                           const std::string& key_file)
{
    auto key = core::es256_private_key::from_pem(read_vector("pki/" + key_file));
    REQUIRE(key);
    core::calltoken_mint_params p;
    p.call_sid = call_sid;
    p.from = "+13105550100";
    p.to = "+14155550101";
    p.account_sid = account;
    auto v = core::mint_calltoken(p, identities, *key, iat);
    REQUIRE(v);
    return *v;
}

std::string verification_body(const std::string& from, const std::string& to, std::int64_t time,
                              const std::vector<std::string>& identities,
                              const std::string& request_uri)
{
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("verificationRequest");
    w.StartObject();
    w.Key("from");
    w.StartObject();
    w.Key("tn");
    w.String(from.c_str());
    w.EndObject();
    w.Key("to");
    w.StartObject();
    w.Key("tn");
    w.StartArray();
    w.String(to.c_str());
    w.EndArray();
    w.EndObject();
    w.Key("time");
    w.Int64(time);
    w.Key("identities");
    w.StartArray();
    for (const auto& id : identities) w.String(id.c_str());
    w.EndArray();
    if (!request_uri.empty()) {
        w.Key("requestUri");
        w.String(request_uri.c_str());
    }
    w.EndObject();
    w.EndObject();
    return buf.GetString();
}

std::string forwarding_config(std::uint16_t edge_port, const std::string& storage_url)
{
    const auto pki = [](const char* f) { return "\"" + vector_path(std::string("pki/") + f) + "\""; };
    return std::string("[server]\nthreads = 2\ndrain_timeout_ms = 3000\n") +
           "[storage]\nurl = \"" + storage_url + "\"\n" +
           "[signing]\nkey_file = " + pki("div-sp-5678.key.pem") +
           "\nx5u = \"https://certs.example.test/sti/div-sp-5678.pem\"\nchain_file = " +
           pki("div-sp-5678.chain.pem") + "\n" +
           "[calltoken]\nkey_file = " + pki("platform-calltoken.key.pem") +
           "\ntrusted_keys = [" + pki("platform-calltoken.pub.pem") + "]\nmax_age_s = 3600\n" +
           "[edge]\nauth_token = \"" + edge_secret + "\"\ndial_url = \"http://127.0.0.1:" +
           std::to_string(edge_port) + "/dial\"\n" +
           "[[accounts]]\nsid = \"" + account_sid + "\"\nauth_token = \"" + account_token +
           "\"\norigid = \"4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55\"\n"
           "verified_caller_ids = [\"+12125550123\"]\n";
}

bool pyjwt_verifies(const std::string& jws, const std::string& public_key_file)
{
    auto proc = child_process::spawn(
        "/usr/bin/python3",
        {"-c",
         "import jwt, sys\n"
         "jwt.decode(sys.argv[1], open(sys.argv[2]).read(), algorithms=['ES256'],\n"
         "           options={'verify_aud': False, 'verify_iat': False, 'verify_exp': False,\n"
         "                    'verify_nbf': False})\n",
         jws, public_key_file});
    const auto code = proc.wait(std::chrono::seconds(30));
    INFO(proc.stderr_text());
    return code == std::optional<int>(0);
}

std::string forward_request()
{
    const std::string token =
        mint_calltoken("CAfedcba9876543210fedcba9876543210", account_sid, {g1_identity()},
                       wall_now());
    core::form_params f;
    f.add("To", "+16505550102");
    f.add("From", "+13105550100");
    f.add("Url", "https://app.example.test/twiml/forward");
    f.add("CallToken", token);
    const std::string body = core::format_form(f);
    return "POST /2010-04-01/Accounts/" + std::string(account_sid) +
           "/Calls.json HTTP/1.1\r\nHost: gw.test\r\nAuthorization: " +
           basic_auth(account_sid, account_token) +
           "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string sid_of(const std::string& body)
{
    rapidjson::Document d;
    d.Parse(body.c_str(), body.size());
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("sid") || !d["sid"].IsString()) return {};
    return d["sid"].GetString();
}

bool call_fetchable(std::uint16_t port, const std::string& sid)
{
    const auto reply = http_exchange(
        port, "GET /2010-04-01/Accounts/" + std::string(account_sid) + "/Calls/" + sid +
                  ".json HTTP/1.1\r\nHost: gw.test\r\nAuthorization: " +
                  basic_auth(account_sid, account_token) + "\r\n\r\n");
    return reply && reply->status == 200 && sid_of(reply->body) == sid;
}

}  // namespace stirgate::test
