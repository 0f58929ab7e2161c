// The Twilio Calls API through the router with a memory_store: create (originated and
// forwarded with a CallToken), fetch, list with paging and filters, auth and every validation
// error of TWILIO-API.md section 2.1.

#include "unit/api/calls_fixture.hpp"

TEST_CASE("an originated call is stored, handed to the edge and answered 201 with Call JSON",
          "[api][calls]")
{
    fixture f;
    auto form = simple_call();
    form.add("StatusCallback", "https://app.example.test/status");
    form.add("StatusCallbackEvent", "initiated");
    form.add("StatusCallbackEvent", "answered completed");
    form.add("UnknownParameter", "ignored as Twilio does");
    const auto r = f.create(form);
    INFO(r.body);
    REQUIRE(r.status == 201);
    CHECK(r.raw[http::field::content_type] == "application/json");
    const std::string sid = str(r.json, "sid");
    CHECK(sid == "CA01010101010101010101010101010101");
    CHECK(str(r.json, "account_sid") == account_sid);
    CHECK(r.json["parent_call_sid"].IsNull());
    CHECK(str(r.json, "status") == "queued");
    CHECK(str(r.json, "direction") == "outbound-api");
    CHECK(str(r.json, "to") == "+16505550102");
    CHECK(str(r.json, "to_formatted") == "(650) 555-0102");
    CHECK(str(r.json, "from") == "+14155550101");
    CHECK(str(r.json, "date_created") == "Thu, 01 Jan 2026 00:00:05 +0000");
    CHECK(str(r.json, "uri") ==
          "/2010-04-01/Accounts/" + std::string(account_sid) + "/Calls/" + sid + ".json");
    CHECK(f.queued == 1);  // the outbox worker was woken for the hand-off

    auto stored = f.db.get_call(account_sid, sid);
    REQUIRE(stored);
    REQUIRE(*stored);
    const auto& call = **stored;
    CHECK(call.attestation == core::attestation::A);
    CHECK(call.url == "https://app.example.test/twiml");
    CHECK(call.method == "POST");
    CHECK(call.status_callback == "https://app.example.test/status");
    CHECK(call.status_callback_events ==
          std::vector<std::string>{"initiated", "answered", "completed"});
    REQUIRE(call.identity_headers.size() == 1);

    const auto item = only_outbox_item(f);
    CHECK(item.kind == store::outbox_kind::edge_dial);
    CHECK(item.call_sid == sid);
    CHECK(item.target_url == dial_url);
    CHECK(params_named(item, "CallSid") == std::vector<std::string>{sid});
    CHECK(params_named(item, "AccountSid") == std::vector<std::string>{account_sid});
    CHECK(params_named(item, "ParentCallSid").empty());
    CHECK(params_named(item, "From") == std::vector<std::string>{"+14155550101"});
    CHECK(params_named(item, "To") == std::vector<std::string>{"+16505550102"});
    CHECK(params_named(item, "Url") == std::vector<std::string>{"https://app.example.test/twiml"});
    CHECK(params_named(item, "Method") == std::vector<std::string>{"POST"});
    CHECK(params_named(item, "Identity") == call.identity_headers);
    const auto p = decoded(call.identity_headers[0]);
    CHECK(core::verify_passport(p, test::vector_public_key("pki/div-sp-5678.cert.pem")));
    CHECK(p.claims.attest == core::attestation::A);
    CHECK(p.claims.origid == origid);
    CHECK(p.claims.iat == f.now);
}

TEST_CASE("originated calls get A or B by the account's inventory, B for a verified caller ID",
          "[api][calls]")
{
    fixture f;
    const std::vector<std::pair<std::string, core::attestation>> cases{
        {"+14155550101", core::attestation::A},
        {"+14155550102", core::attestation::B},
        {"+13105550199", core::attestation::B},
    };
    for (const auto& [from, level] : cases) {
        INFO(from);
        const auto r = f.create(simple_call(from));
        REQUIRE(r.status == 201);
        auto stored = f.db.get_call(account_sid, str(r.json, "sid"));
        REQUIRE(stored);
        REQUIRE(*stored);
        CHECK((*stored)->attestation == level);
        CHECK(decoded((*stored)->identity_headers.at(0)).claims.attest == level);
    }
}

TEST_CASE("without a CallToken a From that is none of the account's numbers or verified caller "
          "IDs is refused with 21210, nothing stored",
          "[api][calls]")
{
    fixture f;
    for (const std::string from : {"+13105550100", "+16505550102"}) {
        INFO(from);
        const auto r = f.create(simple_call(from));
        check_twilio_error(r, 400, 21210);
        CHECK(r.body.find("The source phone number provided, " + from +
                          ", is not yet verified for your account") != std::string::npos);
    }
    // Another account's number is not this account's caller ID either.
    const auto r = f.send(http::verb::post,
                          "/2010-04-01/Accounts/" + std::string(other_sid) + "/Calls.json",
                          core::format_form(simple_call("+14155550102")),
                          basic(other_sid, other_token));
    check_twilio_error(r, 400, 21210);
    CHECK(f.calls_stored() == 0);
}

TEST_CASE("a forwarded call with a good CallToken carries SHAKEN then a new DIV", "[api][calls]")
{
    fixture f;
    const auto platform = test::vector_private_key("pki/platform-calltoken.key.pem");
    const auto inbound = g1_identities();
    f.now = test::vectors_verify_at + 20;
    const auto r = f.create(forward(mint(platform, inbound, test::vectors_verify_at)));
    INFO(r.body);
    REQUIRE(r.status == 201);
    const std::string sid = str(r.json, "sid");
    CHECK(str(r.json, "parent_call_sid") == parent_sid);
    CHECK(str(r.json, "from") == "+13105550100");

    auto stored = f.db.get_call(account_sid, sid);
    REQUIRE(stored);
    REQUIRE(*stored);
    CHECK((*stored)->parent_call_sid == std::optional<std::string>(parent_sid));
    CHECK((*stored)->attestation == core::attestation::A);  // the inbound SHAKEN's

    const auto item = only_outbox_item(f);
    CHECK(params_named(item, "ParentCallSid") == std::vector<std::string>{parent_sid});
    const auto identities = params_named(item, "Identity");
    REQUIRE(identities.size() == 2);
    CHECK(identities == (*stored)->identity_headers);
    CHECK(identities[0] == inbound[0]);
    const auto shaken = decoded(identities[0]);
    CHECK(core::verify_passport(shaken, test::vector_public_key("pki/orig-sp-1234.cert.pem")));
    const auto div = decoded(identities[1]);
    CHECK(div.header.ppt == core::passport_type::div);
    CHECK(div.header.x5u == x5u);
    CHECK(core::verify_passport(div, test::vector_public_key("pki/div-sp-5678.cert.pem")));
    CHECK(div.claims.orig == core::passport_identity::tn("13105550100"));
    CHECK(div.claims.dest.tn == std::vector<std::string>{"16505550102"});
    REQUIRE(div.claims.div);
    CHECK(*div.claims.div == core::passport_identity::tn("14155550101"));
    CHECK(div.claims.iat == f.now);

    const auto outcome = verify_outbound(identities, f.now);
    INFO(outcome.reason);
    CHECK(outcome.valid);
    CHECK(core::to_string(outcome.twilio) == "TN-Validation-Passed-A-Diverted");
}

TEST_CASE("a CallToken without a SHAKEN PASSporT gets SHAKEN C plus a DIV", "[api][calls]")
{
    fixture f;
    const auto r = f.create(forward(mint(test::vector_private_key("pki/platform-calltoken.key.pem"), {}, f.now)));
    INFO(r.body);
    REQUIRE(r.status == 201);
    const auto item = only_outbox_item(f);
    const auto identities = params_named(item, "Identity");
    REQUIRE(identities.size() == 2);
    const auto signer = test::vector_public_key("pki/div-sp-5678.cert.pem");
    const auto c = decoded(identities[0]);
    CHECK(core::verify_passport(c, signer));
    CHECK(c.header.ppt == core::passport_type::shaken);
    CHECK(c.claims.attest == core::attestation::C);
    CHECK(c.claims.orig == core::passport_identity::tn("13105550100"));
    CHECK(c.claims.dest.tn == std::vector<std::string>{"14155550101"});
    CHECK(c.claims.origid == origid);
    const auto div = decoded(identities[1]);
    CHECK(core::verify_passport(div, signer));
    CHECK(div.claims.dest.tn == std::vector<std::string>{"16505550102"});
    CHECK(*div.claims.div == core::passport_identity::tn("14155550101"));
    auto stored = f.db.get_call(account_sid, str(r.json, "sid"));
    REQUIRE(stored);
    REQUIRE(*stored);
    CHECK((*stored)->attestation == core::attestation::C);

    const auto outcome = verify_outbound(identities, f.now);
    INFO(outcome.reason);
    CHECK(outcome.valid);
    CHECK(core::to_string(outcome.twilio) == "TN-Validation-Passed-C-Diverted");
}

TEST_CASE("a From that is not the CallToken's caller is refused with 21210, nothing stored",
          "[api][calls]")
{
    fixture f;
    const auto token = mint(test::vector_private_key("pki/platform-calltoken.key.pem"), g1_identities(), f.now);
    const auto r = f.create(forward(token, "+14155550101"));
    check_twilio_error(r, 400, 21210);
    CHECK(str(r.json, "message") == "The 'From' number does not match the CallToken");
    CHECK(f.calls_stored() == 0);
    CHECK(f.outbox_depth() == 0);
}

TEST_CASE("every other bad CallToken is refused with 21210 naming the reason, nothing stored",
          "[api][calls]")
{
    const auto platform = test::vector_private_key("pki/platform-calltoken.key.pem");
    const auto inbound = g1_identities();
    const std::int64_t now = test::vectors_verify_at;

    // Same JWT, different Identity list: the hash claim no longer matches.
    auto good = core::decode_calltoken(mint(platform, inbound, now));
    REQUIRE(good);
    std::vector<std::string> edited = inbound;
    edited[0].back() = edited[0].back() == 'n' ? 'm' : 'n';
    const auto tampered = core::encode_calltoken_value(good->parent_call_info_token, edited);
    auto rogue = core::es256_private_key::generate();
    REQUIRE(rogue);

    const std::vector<std::tuple<std::string, std::string, std::string>> cases{
        {"tampered identityHeaderTokens", tampered, "identityHeaderTokens"},
        {"stale", mint(platform, inbound, now - 3601), "expired"},
        {"another account's", mint(platform, inbound, now, other_sid), "another account"},
        {"untrusted key", mint(*rogue, inbound, now), "signature"},
        {"garbage", "not-a-calltoken", "not a CallToken"},
    };
    for (const auto& [name, token, reason] : cases) {
        INFO(name);
        fixture f;
        const auto r = f.create(forward(token));
        check_twilio_error(r, 400, 21210);
        const std::string message = str(r.json, "message");
        CHECK(message.find("Invalid CallToken") == 0);
        CHECK(message.find(reason) != std::string::npos);
        CHECK(f.calls_stored() == 0);
        CHECK(f.outbox_depth() == 0);
    }
}

// The inbound call a CallToken names, as the gateway stored it when the edge reported it.
store::call_record stored_parent(store::call_status status = store::call_status::ringing,
                                 std::string account = account_sid,
                                 std::string from = "+13105550100")
{
    store::call_record c;
    c.sid = parent_sid;
    c.account_sid = std::move(account);
    c.direction = store::call_direction::inbound;
    c.from = std::move(from);
    c.to = "+14155550101";
    c.status = status;
    c.date_created = c.date_updated = test::vectors_verify_at - 10;
    return c;
}

TEST_CASE("a CallToken is checked against its parent call when the gateway knows it: account, "
          "From, To and still live; refused with 21210 naming the defect",
          "[api][calls]")
{
    const auto platform = test::vector_private_key("pki/platform-calltoken.key.pem");
    using store::call_status;
    const std::vector<std::tuple<std::string, store::call_record, std::string>> cases{
        {"completed", stored_parent(call_status::completed),
         std::string("parent call ") + parent_sid + " is completed"},
        {"busy", stored_parent(call_status::busy), "is busy"},
        {"canceled", stored_parent(call_status::canceled), "is canceled"},
        {"another account's", stored_parent(call_status::ringing, other_sid),
         "belongs to another account"},
        {"another caller", stored_parent(call_status::ringing, account_sid, "+13105550111"),
         "has another From or To than the token"},
    };
    for (const auto& [name, parent, reason] : cases) {
        INFO(name);
        fixture f;
        REQUIRE(f.db.insert_call(parent));
        const auto r = f.create(forward(mint(platform, g1_identities(), f.now)));
        check_twilio_error(r, 400, 21210);
        const std::string message = str(r.json, "message");
        CHECK(message.find("Invalid CallToken") == 0);
        CHECK(r.body.find(reason) != std::string::npos);
        CHECK(f.calls_stored() == (parent.account_sid == account_sid ? 1u : 0u));  // the parent
        CHECK(f.outbox_depth() == 0);
    }
    for (const auto live : {call_status::queued, call_status::ringing, call_status::in_progress}) {
        fixture f;
        REQUIRE(f.db.insert_call(stored_parent(live)));
        const auto r = f.create(forward(mint(platform, g1_identities(), f.now)));
        CHECK(r.status == 201);
        CHECK(str(r.json, "parent_call_sid") == parent_sid);
    }
}

TEST_CASE("a known parent call is forwarded at most max_forwards_per_call times (21210 after)",
          "[api][calls]")
{
    const auto platform = test::vector_private_key("pki/platform-calltoken.key.pem");
    fixture f;
    REQUIRE(f.db.insert_call(stored_parent()));
    const std::string token = mint(platform, g1_identities(), f.now);
    for (int i = 0; i < 10; ++i) REQUIRE(f.create(forward(token)).status == 201);
    const auto r = f.create(forward(token));
    check_twilio_error(r, 400, 21210);
    CHECK(r.body.find(std::string("parent call ") + parent_sid +
                      " already has 10 forwarded calls") != std::string::npos);
    CHECK(f.calls_stored() == 11);
    CHECK(f.outbox_depth() == 10);

    // A parent this gateway never saw (another platform's) keeps the claim-only check.
    fixture foreign;
    for (int i = 0; i < 12; ++i) CHECK(foreign.create(forward(token)).status == 201);
}

TEST_CASE("without an edge dial URL the call is stored with no hand-off", "[api][calls]")
{
    fixture f("");
    const auto r = f.create(simple_call());
    REQUIRE(r.status == 201);
    CHECK(f.calls_stored() == 1);
    CHECK(f.outbox_depth() == 0);
    CHECK(f.queued == 0);  // nothing to deliver, nobody woken
}

TEST_CASE("inline Twiml instead of Url reaches the edge", "[api][calls]")
{
    fixture f;
    core::form_params form;
    form.add("To", "+16505550102");
    form.add("From", "+14155550101");
    form.add("Twiml", "<Response><Say>hi</Say></Response>");
    form.add("Method", "get");
    const auto r = f.create(form);
    REQUIRE(r.status == 201);
    const auto item = only_outbox_item(f);
    CHECK(params_named(item, "Twiml") ==
          std::vector<std::string>{"<Response><Say>hi</Say></Response>"});
    CHECK(params_named(item, "Method") == std::vector<std::string>{"GET"});
}

namespace {

// `form` with its To replaced.
core::form_params with_to(const core::form_params& form, const std::string& to)
{
    core::form_params out;
    for (const auto& p : form) out.add(p.name, p.name == "To" ? to : p.value);
    return out;
}

}  // namespace

TEST_CASE("a call to a sip: or client: address is stored and dialled as given, with no PASSporT "
          "and no attestation",
          "[api][calls][address]")
{
    const std::vector<std::pair<std::string, std::string>> cases{
        {"sip:alice@example.test;transport=tls?X-Tag=a%20b", "+14155550101"},
        {"client:alice", "+14155550101"},
        {"client:alice", "client:bob"},  // Twilio: a call to a client may come from one
        {"sip:alice@203.0.113.7:5061", "client:bob"},
    };
    for (const auto& [to, from] : cases) {
        INFO(to << " from " << from);
        fixture f;
        const auto r = f.create(with_to(simple_call(from), to));
        INFO(r.body);
        REQUIRE(r.status == 201);
        CHECK(str(r.json, "to") == to);
        CHECK(str(r.json, "to_formatted") == to);  // Twilio shows the address itself
        CHECK(str(r.json, "from") == from);
        CHECK(str(r.json, "from_formatted") == (from == "+14155550101" ? "(415) 555-0101" : from));
        CHECK(r.json["parent_call_sid"].IsNull());

        auto stored = f.db.get_call(account_sid, str(r.json, "sid"));
        REQUIRE(stored);
        REQUIRE(*stored);
        CHECK((*stored)->to == to);
        CHECK((*stored)->identity_headers.empty());
        CHECK_FALSE((*stored)->attestation);  // no StirStatus in its status callbacks

        const auto item = only_outbox_item(f);
        CHECK(params_named(item, "To") == std::vector<std::string>{to});
        CHECK(params_named(item, "From") == std::vector<std::string>{from});
        CHECK(params_named(item, "Identity").empty());
    }
}

TEST_CASE("without a CallToken a phone-number From to a sip: or client: address is still held to "
          "the account's numbers (21210)",
          "[api][calls][address]")
{
    fixture f;
    check_twilio_error(f.create(with_to(simple_call("+13105550100"), "client:alice")), 400, 21210);
    CHECK(f.calls_stored() == 0);
}

TEST_CASE("CallerId and SipAuth* reach the edge for the destinations they serve, checked",
          "[api][calls][address]")
{
    fixture f;
    auto form = with_to(simple_call(), "sip:alice@example.test");
    form.add("CallerId", "Support_Line-1");
    form.add("SipAuthUsername", "alice");
    form.add("SipAuthPassword", "s3cr3t!pw");
    const auto r = f.create(form);
    INFO(r.body);
    REQUIRE(r.status == 201);
    CHECK(r.body.find("s3cr3t!pw") == std::string::npos);
    const auto item = only_outbox_item(f);
    CHECK(params_named(item, "CallerId") == std::vector<std::string>{"Support_Line-1"});
    CHECK(params_named(item, "SipAuthUsername") == std::vector<std::string>{"alice"});
    CHECK(params_named(item, "SipAuthPassword") == std::vector<std::string>{"s3cr3t!pw"});
    CHECK(params_named(item, "Identity").empty());

    fixture g;
    auto client = with_to(simple_call(), "client:alice");
    client.add("CallerId", "client:support");
    REQUIRE(g.create(client).status == 201);
    CHECK(params_named(only_outbox_item(g), "CallerId") ==
          std::vector<std::string>{"client:support"});

    const std::vector<std::tuple<std::string, std::vector<std::pair<std::string, std::string>>,
                                 std::string>>
        refusals{
            {"client:alice", {{"SipAuthUsername", "a"}, {"SipAuthPassword", "b"}},
             "SipAuthUsername is used only for sip: To addresses"},
            {"sip:alice@example.test", {{"SipAuthUsername", "a"}},
             "SipAuthUsername and SipAuthPassword are given together"},
            {"sip:alice@example.test", {{"SipAuthPassword", "hunter2"}},
             "SipAuthUsername and SipAuthPassword are given together"},
            {"sip:alice@example.test",
             {{"SipAuthUsername", "a"}, {"SipAuthPassword", "two words"}},
             "SipAuthPassword must be printable ASCII without spaces, '\"' or '\\'"},
            {"sip:alice@example.test",
             {{"SipAuthUsername", std::string(256, 'u')}, {"SipAuthPassword", "b"}},
             "SipAuthUsername must be 1 to 255 characters"},
            {"client:alice", {{"CallerId", "two words"}},
             "CallerId must be a client: or sip: address, or letters, digits and + - _ . only"},
            {"client:alice", {{"CallerId", "sip:nobody"}},
             "CallerId is not a valid address: SIP address without user@host"},
            {"client:alice", {{"CallerId", "a"}, {"CallerId", "b"}},
             "CallerId may be given only once"},
        };
    for (const auto& [to, extra, message] : refusals) {
        INFO(message);
        fixture h;
        auto bad = with_to(simple_call(), to);
        for (const auto& [k, v] : extra) bad.add(k, v);
        const auto refused = h.create(bad);
        check_twilio_error(refused, 400, 20001);
        CHECK(str(refused.json, "message") == message);
        CHECK(refused.body.find("two words") == std::string::npos);
        CHECK(h.calls_stored() == 0);
    }
}

TEST_CASE("a CallToken with a sip: or client: To is validated in full, but no DIV is signed",
          "[api][calls][address]")
{
    const auto platform = test::vector_private_key("pki/platform-calltoken.key.pem");
    fixture f;
    const auto form = with_to(forward(mint(platform, g1_identities(), f.now)),
                              "sip:agent@pbx.example.test");
    const auto r = f.create(form);
    INFO(r.body);
    REQUIRE(r.status == 201);
    CHECK(str(r.json, "parent_call_sid") == parent_sid);
    auto stored = f.db.get_call(account_sid, str(r.json, "sid"));
    REQUIRE(stored);
    REQUIRE(*stored);
    CHECK((*stored)->identity_headers.empty());
    CHECK_FALSE((*stored)->attestation);
    const auto item = only_outbox_item(f);
    CHECK(params_named(item, "ParentCallSid") == std::vector<std::string>{parent_sid});
    CHECK(params_named(item, "To") == std::vector<std::string>{"sip:agent@pbx.example.test"});
    CHECK(params_named(item, "Identity").empty());

    // Refused tokens stay 21210: another caller, a client From, a stale token, a foreign key.
    const auto stale = mint(platform, g1_identities(), f.now - 7200);
    const auto foreign = mint(test::vector_private_key("pki/div-sp-5678.key.pem"),
                              g1_identities(), f.now);
    for (const auto& [token, from] : std::vector<std::pair<std::string, std::string>>{
             {mint(platform, g1_identities(), f.now), "+14155550101"},
             {mint(platform, g1_identities(), f.now), "client:bob"},
             {stale, "+13105550100"},
             {foreign, "+13105550100"}}) {
        INFO(from);
        fixture g;
        check_twilio_error(g.create(with_to(forward(token, from), "client:alice")), 400, 21210);
        CHECK(g.calls_stored() == 0);
    }
    // The parent's checks (live, forward limit) apply too.
    fixture h;
    REQUIRE(h.db.insert_call(stored_parent(store::call_status::completed)));
    const auto ended = with_to(forward(mint(platform, g1_identities(), h.now)), "client:alice");
    check_twilio_error(h.create(ended), 400, 21210);
    CHECK(h.outbox_depth() == 0);
}

TEST_CASE("the Calls list To filter matches a sip: or client: address as stored",
          "[api][calls][address]")
{
    fixture f;
    REQUIRE(f.create(simple_call()).status == 201);
    REQUIRE(f.create(with_to(simple_call(), "sip:alice@example.test;transport=tcp")).status == 201);
    REQUIRE(f.create(with_to(simple_call(), "client:alice")).status == 201);
    auto count = [&](const std::string& query) {
        const auto r = f.send(http::verb::get, calls_path + "?" + query);
        INFO(query << " " << r.body);
        REQUIRE(r.status == 200);
        return r.json["calls"].Size();
    };
    CHECK(count("To=" + core::form_encode("sip:alice@example.test;transport=tcp")) == 1);
    CHECK(count("To=client%3Aalice") == 1);
    CHECK(count("To=client%3Abob") == 0);
    CHECK(count("To=%2B16505550102") == 1);
    const auto r = f.send(http::verb::get, calls_path + "?To=client%3Aalice");
    CHECK(str(r.json["calls"][0], "to") == "client:alice");
    CHECK(str(r.json, "uri") == calls_path + "?To=client%3Aalice&PageSize=50&Page=0");
}

TEST_CASE("a call is fetched by its account and is unknown to everyone else", "[api][calls]")
{
    fixture f;
    const auto created = f.create(simple_call());
    REQUIRE(created.status == 201);
    const std::string sid = str(created.json, "sid");
    const std::string path =
        "/2010-04-01/Accounts/" + std::string(account_sid) + "/Calls/" + sid + ".json";
    const auto got = f.send(http::verb::get, path);
    CHECK(got.status == 200);
    CHECK(got.body == created.body);

    const std::string other_path =
        "/2010-04-01/Accounts/" + std::string(other_sid) + "/Calls/" + sid + ".json";
    const auto other = f.send(http::verb::get, other_path, {}, basic(other_sid, other_token));
    check_twilio_error(other, 404, 20404);
    CHECK(str(other.json, "message") == "The requested resource " + other_path + " was not found");

    const std::string unknown_path = "/2010-04-01/Accounts/" + std::string(account_sid) +
                                     "/Calls/CA00000000000000000000000000000000.json";
    const auto unknown = f.send(http::verb::get, unknown_path);
    check_twilio_error(unknown, 404, 20404);
    CHECK(str(unknown.json, "message") ==
          "The requested resource " + unknown_path + " was not found");
    check_twilio_error(f.send(http::verb::get, "/2010-04-01/Accounts/" + std::string(account_sid) +
                                                   "/Calls/nonsense.json"),
                       404, 20404);
}

TEST_CASE("listing pages through seven calls three at a time by following next_page_uri",
          "[api][calls]")
{
    fixture f;
    std::vector<std::string> created;
    for (int i = 0; i < 7; ++i) {
        ++f.now;
        const auto r = f.create(simple_call());
        REQUIRE(r.status == 201);
        created.push_back(str(r.json, "sid"));
    }
    std::vector<std::string> seen;
    std::string target = calls_path + "?PageSize=3";
    std::vector<std::size_t> sizes;
    for (int page = 0; page < 10; ++page) {
        const auto r = f.send(http::verb::get, target);
        INFO(r.body);
        REQUIRE(r.status == 200);
        REQUIRE(r.json["calls"].IsArray());
        sizes.push_back(r.json["calls"].Size());
        for (const auto& c : r.json["calls"].GetArray()) seen.push_back(c["sid"].GetString());
        CHECK(r.json["page"].GetUint() == static_cast<unsigned>(page));
        CHECK(r.json["page_size"].GetUint() == 3);
        CHECK(r.json["start"].GetUint() == static_cast<unsigned>(page * 3));
        CHECK(r.json["end"].GetUint() == page * 3 + r.json["calls"].Size() - 1);
        CHECK(str(r.json, "first_page_uri") == calls_path + "?PageSize=3&Page=0");
        if (page == 0) CHECK(r.json["previous_page_uri"].IsNull());
        if (page > 0)
            CHECK(str(r.json, "previous_page_uri")
                      .find("&Page=" + std::to_string(page - 1) + "&PageToken=PB") !=
                  std::string::npos);
        if (r.json["next_page_uri"].IsNull()) break;
        target = str(r.json, "next_page_uri");
        CHECK(target.find("&Page=" + std::to_string(page + 1) + "&PageToken=PA") !=
              std::string::npos);
    }
    CHECK(sizes == std::vector<std::size_t>{3, 3, 1});
    std::vector<std::string> newest_first(created.rbegin(), created.rend());
    CHECK(seen == newest_first);

    // And back from the last page by previous_page_uri: the same pages, each call once.
    std::vector<std::vector<std::string>> back;
    for (int step = 0; step < 10; ++step) {
        const auto r = f.send(http::verb::get, target);
        INFO(r.body);
        REQUIRE(r.status == 200);
        std::vector<std::string> page;
        for (const auto& c : r.json["calls"].GetArray()) page.push_back(c["sid"].GetString());
        back.insert(back.begin(), page);
        if (r.json["previous_page_uri"].IsNull()) break;
        target = str(r.json, "previous_page_uri");
    }
    REQUIRE(back.size() == 3);
    CHECK(back[0] == std::vector<std::string>(newest_first.begin(), newest_first.begin() + 3));
    CHECK(back[1] == std::vector<std::string>(newest_first.begin() + 3, newest_first.begin() + 6));
    CHECK(back[2] == std::vector<std::string>(newest_first.begin() + 6, newest_first.end()));

    // A page number without its token names nothing.
    const auto numbered = f.send(http::verb::get, calls_path + "?PageSize=3&Page=2");
    check_twilio_error(numbered, 400, 20001);
    CHECK(str(numbered.json, "message") ==
          "Page greater than 0 needs the PageToken of that page: follow next_page_uri or "
          "previous_page_uri");
    CHECK(f.send(http::verb::get, calls_path + "?PageSize=3&Page=0").status == 200);
}

TEST_CASE("list filters To, From, Status and ParentCallSid, echoed in the page URIs",
          "[api][calls]")
{
    fixture f;
    REQUIRE(f.create(simple_call("+14155550101")).status == 201);
    REQUIRE(f.create(simple_call("+14155550102")).status == 201);
    const auto token = mint(test::vector_private_key("pki/platform-calltoken.key.pem"), g1_identities(), f.now);
    REQUIRE(f.create(forward(token)).status == 201);
    // Another account's call never shows.
    auto other = simple_call();
    REQUIRE(f.send(http::verb::post,
                   "/2010-04-01/Accounts/" + std::string(other_sid) + "/Calls.json",
                   core::format_form(other), basic(other_sid, other_token))
                .status == 201);

    auto count = [&](const std::string& query) {
        const auto r = f.send(http::verb::get, calls_path + "?" + query);
        INFO(query << " " << r.body);
        REQUIRE(r.status == 200);
        return r.json["calls"].Size();
    };
    CHECK(count("") == 3);
    CHECK(count("From=%2B14155550102") == 1);
    CHECK(count("From=%2B13105550100") == 1);
    CHECK(count("To=%2B16505550102") == 3);
    CHECK(count("To=%2B19995550000") == 0);
    CHECK(count("Status=queued") == 3);
    CHECK(count("Status=completed") == 0);
    CHECK(count(std::string("ParentCallSid=") + parent_sid) == 1);

    const auto r =
        f.send(http::verb::get, calls_path + "?From=%2B14155550102&Status=queued&PageSize=2");
    CHECK(str(r.json, "uri") ==
          calls_path + "?From=%2B14155550102&Status=queued&PageSize=2&Page=0");

    check_twilio_error(f.send(http::verb::get, calls_path + "?Status=bogus"), 400, 20001);
    check_twilio_error(f.send(http::verb::get, calls_path + "?PageSize=0"), 400, 20001);
    check_twilio_error(f.send(http::verb::get, calls_path + "?PageSize=1001"), 400, 20001);
    check_twilio_error(f.send(http::verb::get, calls_path + "?PageToken=PAnope"), 400, 20001);
    check_twilio_error(f.send(http::verb::get, calls_path + "?StartTime%3E=2026-01-01"), 400,
                       20001);
}

TEST_CASE("every route needs the account's credentials and only its own path", "[api][calls]")
{
    fixture f;
    const std::string fetch = "/2010-04-01/Accounts/" + std::string(account_sid) +
                              "/Calls/CA00000000000000000000000000000000.json";
    for (const auto& [method, target] :
         std::vector<std::pair<http::verb, std::string>>{{http::verb::post, calls_path},
                                                         {http::verb::get, calls_path},
                                                         {http::verb::get, fetch}}) {
        INFO(target);
        const std::string body = method == http::verb::post ? core::format_form(simple_call()) : "";
        const auto none = f.send(method, target, body, std::nullopt);
        check_twilio_error(none, 401, 20003);
        CHECK(str(none.json, "message") == "Authenticate");
        CHECK(none.raw[http::field::www_authenticate].starts_with("Basic realm="));
        check_twilio_error(f.send(method, target, body, basic(account_sid, other_token)), 401,
                           20003);
        check_twilio_error(f.send(method, target, body, "Bearer abc"), 401, 20003);
    }
    // Valid credentials of one account, the other account's path: 403 20003.
    const std::string other_calls =
        "/2010-04-01/Accounts/" + std::string(other_sid) + "/Calls.json";
    check_twilio_error(f.send(http::verb::post, other_calls, core::format_form(simple_call())), 403,
                       20003);
    check_twilio_error(f.send(http::verb::get, other_calls), 403, 20003);
    CHECK(f.calls_stored() == 0);
}

TEST_CASE("create refuses bodies that are not form-encoded with 415", "[api][calls]")
{
    fixture f;
    check_twilio_error(f.send(http::verb::post, calls_path, R"({"To":"+16505550102"})",
                              basic(account_sid, account_token), "application/json"),
                       415, 20001);
    check_twilio_error(f.send(http::verb::post, calls_path, "To=%2B16505550102",
                              basic(account_sid, account_token), std::nullopt),
                       415, 20001);
    // A charset parameter is fine.
    CHECK(f.send(http::verb::post, calls_path, core::format_form(simple_call()),
                 basic(account_sid, account_token),
                 "application/x-www-form-urlencoded; charset=utf-8")
              .status == 201);
}

TEST_CASE("Twilio's other create parameters reach the edge checked, or are refused naming the "
          "parameter",
          "[api][calls]")
{
    fixture f;
    auto form = simple_call();
    form.add("SendDigits", "1234#w9");
    form.add("Record", "True");
    form.add("RecordingChannels", "dual");
    form.add("RecordingStatusCallback", "https://app.example.test/recording");
    form.add("RecordingStatusCallbackMethod", "get");
    form.add("RecordingStatusCallbackEvent", "in-progress completed");
    form.add("Trim", "do-not-trim");
    form.add("MachineDetection", "DetectMessageEnd");
    form.add("MachineDetectionTimeout", "30");
    form.add("AsyncAmd", "false");
    form.add("TimeLimit", "3600");
    const auto r = f.create(form);
    INFO(r.body);
    REQUIRE(r.status == 201);
    const auto item = only_outbox_item(f);
    CHECK(params_named(item, "SendDigits") == std::vector<std::string>{"1234#w9"});
    CHECK(params_named(item, "Record") == std::vector<std::string>{"true"});
    CHECK(params_named(item, "RecordingChannels") == std::vector<std::string>{"dual"});
    CHECK(params_named(item, "RecordingStatusCallback") ==
          std::vector<std::string>{"https://app.example.test/recording"});
    CHECK(params_named(item, "RecordingStatusCallbackMethod") == std::vector<std::string>{"GET"});
    CHECK(params_named(item, "RecordingStatusCallbackEvent") ==
          std::vector<std::string>{"in-progress", "completed"});
    CHECK(params_named(item, "Trim") == std::vector<std::string>{"do-not-trim"});
    CHECK(params_named(item, "MachineDetection") == std::vector<std::string>{"DetectMessageEnd"});
    CHECK(params_named(item, "MachineDetectionTimeout") == std::vector<std::string>{"30"});
    CHECK(params_named(item, "AsyncAmd") == std::vector<std::string>{"false"});
    CHECK(params_named(item, "TimeLimit") == std::vector<std::string>{"3600"});
    CHECK(params_named(item, "CallReason").empty());  // not given, not sent

    const std::vector<std::tuple<std::string, std::string, int, std::string>> refusals{
        {"ApplicationSid", "AP0123456789abcdef0123456789abcdef", 21218,
         "ApplicationSid is not supported: give Url or Twiml"},
        {"CallerId", "+14155550101", 20001,
         "CallerId is used only for sip: and client: To addresses"},
        {"SipAuthUsername", "alice", 20001, "SipAuthUsername is used only for sip: To addresses"},
        {"SipAuthPassword", "secret", 20001, "SipAuthPassword is used only for sip: To addresses"},
        {"Byoc", "BY0123456789abcdef0123456789abcdef", 20001,
         "Byoc is not supported: the edge chooses the trunk"},
        {"SendDigits", "12a", 20001,
         "SendDigits must be at most 32 of the characters 0-9, *, #, w and W"},
        {"Record", "yes", 20001, "Record must be one of true, false"},
        {"MachineDetection", "on", 20001, "MachineDetection must be one of Enable, DetectMessageEnd"},
        {"MachineDetectionTimeout", "60", 20001,
         "MachineDetectionTimeout must be an integer from 3 to 59 seconds"},
        {"TimeLimit", "0", 20001, "TimeLimit must be an integer from 1 to 86400 seconds"},
        {"RecordingStatusCallback", "http://127.0.0.1/rec", 21205,
         "RecordingStatusCallback is not a valid URL: address 127.0.0.1 is loopback"},
        {"RecordingStatusCallbackMethod", "PUT", 21209,
         "RecordingStatusCallbackMethod must be GET or POST"},
        {"RecordingStatusCallbackEvent", "started", 20001,
         "RecordingStatusCallbackEvent must be one of in-progress, completed, absent"},
        {"CallReason", std::string(256, 'r'), 20001, "CallReason must be at most 255 characters"},
    };
    for (const auto& [name, value, code, message] : refusals) {
        INFO(name);
        fixture g;
        auto bad = simple_call();
        bad.add(name, value);
        const auto refused = g.create(bad);
        check_twilio_error(refused, 400, code);
        CHECK(str(refused.json, "message") == message);
        CHECK(g.calls_stored() == 0);
    }
    // ApplicationSid is named even when Url is missing too.
    core::form_params app_only;
    app_only.add("To", "+16505550102");
    app_only.add("From", "+14155550101");
    app_only.add("ApplicationSid", "AP0123456789abcdef0123456789abcdef");
    check_twilio_error(f.create(app_only), 400, 21218);
}

TEST_CASE("every create validation error has Twilio's code", "[api][calls]")
{
    auto with = [](std::initializer_list<std::pair<std::string, std::string>> params) {
        core::form_params form;
        for (const auto& [k, v] : params) form.add(k, v);
        return form;
    };
    const std::string to = "+16505550102";
    const std::string from = "+14155550101";
    const std::string url = "https://app.example.test/twiml";
    const std::vector<std::tuple<std::string, core::form_params, int>> cases{
        {"no To", with({{"From", from}, {"Url", url}}), 21201},
        {"empty To", with({{"To", ""}, {"From", from}, {"Url", url}}), 21201},
        {"bad To", with({{"To", "+1415555"}, {"From", from}, {"Url", url}}), 21211},
        {"bad sip To", with({{"To", "sip:alice@exa_mple.test"}, {"From", from}, {"Url", url}}),
         21211},
        {"bad client To", with({{"To", "client:al ice"}, {"From", from}, {"Url", url}}), 21211},
        {"sim To", with({{"To", "sim:DE8caa2afb9d5279926619c458dc7098a8"}, {"From", from},
                         {"Url", url}}),
         21211},
        {"client From to a number", with({{"To", to}, {"From", "client:bob"}, {"Url", url}}),
         21212},
        {"sip From", with({{"To", "client:alice"}, {"From", "sip:bob@example.test"}, {"Url", url}}),
         21212},
        {"no From", with({{"To", to}, {"Url", url}}), 21213},
        {"bad From", with({{"To", to}, {"From", "abc"}, {"Url", url}}), 21212},
        {"no Url or Twiml", with({{"To", to}, {"From", from}}), 21205},
        {"relative Url", with({{"To", to}, {"From", from}, {"Url", "/twiml"}}), 21205},
        {"ftp Url", with({{"To", to}, {"From", from}, {"Url", "ftp://x.example.test/"}}), 21205},
        {"bad FallbackUrl",
         with({{"To", to}, {"From", from}, {"Url", url}, {"FallbackUrl", "nope"}}), 21205},
        {"bad StatusCallback",
         with({{"To", to}, {"From", from}, {"Url", url}, {"StatusCallback", "https://a_b.test/"}}),
         21205},
        {"bad Method", with({{"To", to}, {"From", from}, {"Url", url}, {"Method", "PUT"}}), 21209},
        {"bad FallbackMethod",
         with({{"To", to}, {"From", from}, {"Url", url}, {"FallbackMethod", "DELETE"}}), 21209},
        {"bad StatusCallbackMethod",
         with({{"To", to}, {"From", from}, {"Url", url}, {"StatusCallbackMethod", "x"}}), 21209},
        {"Timeout 0", with({{"To", to}, {"From", from}, {"Url", url}, {"Timeout", "0"}}), 21208},
        {"Timeout 601", with({{"To", to}, {"From", from}, {"Url", url}, {"Timeout", "601"}}),
         21208},
        {"Timeout text", with({{"To", to}, {"From", from}, {"Url", url}, {"Timeout", "ten"}}),
         21208},
        {"bad StatusCallbackEvent",
         with({{"To", to}, {"From", from}, {"Url", url}, {"StatusCallbackEvent", "hungup"}}),
         20001},
        {"Twiml too long", with({{"To", to}, {"From", from}, {"Twiml", std::string(4001, 'x')}}),
         20001},
    };
    for (const auto& [name, form, code] : cases) {
        INFO(name);
        fixture f;
        check_twilio_error(f.create(form), 400, code);
        CHECK(f.calls_stored() == 0);
    }
    fixture f;
    check_twilio_error(f.send(http::verb::post, calls_path, "To=%ZZ"), 400, 20001);
    // The limits themselves are accepted.
    CHECK(f.create(with({{"To", to}, {"From", from}, {"Url", url}, {"Timeout", "600"}})).status ==
          201);
    CHECK(f.create(with({{"To", to}, {"From", from}, {"Twiml", std::string(4000, 'x')}})).status ==
          201);
}

TEST_CASE("a Url, FallbackUrl or StatusCallback aimed at loopback, private or metadata space is "
          "refused with 21205 naming why, and nothing is stored",
          "[api][calls]")
{
    const std::string good = "https://app.example.test/twiml";
    auto form = [&](const std::string& name, const std::string& value) {
        core::form_params f;
        f.add("To", "+16505550102");
        f.add("From", "+14155550101");
        if (name != "Url") f.add("Url", good);
        f.add(name, value);
        return f;
    };
    const std::vector<std::tuple<std::string, std::string, std::string>> cases{
        {"StatusCallback", "http://127.0.0.1:9/status", "address 127.0.0.1 is loopback"},
        {"StatusCallback", "http://localhost/status", "host localhost is loopback"},
        {"Url", "http://10.0.0.5/twiml", "address 10.0.0.5 is private_use"},
        {"FallbackUrl", "http://[fd00:ec2::254]/", "address fd00:ec2::254 is a cloud metadata address"},
        {"StatusCallback", "http://169.254.169.254/latest/meta-data/",
         "address 169.254.169.254 is a cloud metadata address"},
    };
    for (const auto& [name, value, why] : cases) {
        INFO(name << "=" << value);
        fixture f;
        const auto r = f.create(form(name, value));
        check_twilio_error(r, 400, 21205);
        CHECK(r.body.find(name + " is not a valid URL: " + why) != std::string::npos);
        CHECK(f.calls_stored() == 0);
    }

    // With private addresses allowed for webhooks, loopback is fine and metadata still is not,
    // unless the operator lists the address.
    net::http_client_policy relaxed = rest::default_customer_url_policy();
    relaxed.allow_private_addresses = true;
    {
        fixture f(dial_url, relaxed);
        CHECK(f.create(form("StatusCallback", "http://127.0.0.1:9/status")).status == 201);
        check_twilio_error(f.create(form("StatusCallback", "http://169.254.169.254/")), 400, 21205);
        CHECK(f.calls_stored() == 1);
    }
    relaxed.allowed_addresses = {*net::parse_cidr("169.254.169.254")};
    fixture f(dial_url, relaxed);
    CHECK(f.create(form("StatusCallback", "http://169.254.169.254/")).status == 201);
}

TEST_CASE("ambiguous requests are refused: two Authorization headers, a repeated parameter",
          "[api][calls]")
{
    fixture f;
    // Both credentials valid, for two accounts: which one a proxy in front read is unknown.
    net::request_context ctx;
    ctx.request = net::http_request{http::verb::post, calls_path, 11};
    ctx.request.insert(http::field::authorization, basic(account_sid, account_token));
    ctx.request.insert(http::field::authorization, basic(other_sid, other_token));
    ctx.request.set(http::field::content_type, "application/x-www-form-urlencoded");
    ctx.request.body() = core::format_form(simple_call());
    ctx.request.prepare_payload();
    check_twilio_error(test::parse_reply(test::dispatch(f.routes, ctx)), 400, 20001);

    for (const char* name : {"From", "To", "CallToken", "Url", "StatusCallback", "Timeout"}) {
        INFO(name);
        core::form_params form = simple_call();
        form.add(name, name == std::string("Timeout") ? "30" : "+14155550101");
        if (!simple_call().contains(name)) form.add(name, "x");  // twice, whatever the base has
        const auto r = f.create(form);
        check_twilio_error(r, 400, 20001);
        CHECK(str(r.json, "message") == std::string(name) + " may be given only once");
    }
    // StatusCallbackEvent is a list on Twilio: repeating it is how it is sent.
    core::form_params events = simple_call();
    events.add("StatusCallback", "https://app.example.com/status");
    events.add("StatusCallbackEvent", "initiated");
    events.add("StatusCallbackEvent", "completed");
    CHECK(f.create(events).status == 201);
    CHECK(f.calls_stored() == 1);

    const auto listed = f.send(http::verb::get, calls_path + "?To=%2B14155550101&To=%2B14155550102");
    check_twilio_error(listed, 400, 20001);
    CHECK(str(listed.json, "message") == "To may be given only once");
}

// --- call update and delete (issue #14 item 1) ----------------------------------------------

namespace {

std::string call_path(const std::string& sid, const char* account = account_sid)
{
    return "/2010-04-01/Accounts/" + std::string(account) + "/Calls/" + sid + ".json";
}

// Delivers everything in the outbox, so each step sees only what it causes.
void drain(fixture& f)
{
    auto claimed = f.db.claim_due({"t", f.now * 1000 + 1, 1000, 10});
    REQUIRE(claimed);
    for (const auto& item : *claimed) REQUIRE(f.db.mark_delivered(item.id, "t"));
    REQUIRE(f.outbox_depth() == 0);
}

std::string created_call(fixture& f, const core::form_params& form = simple_call())
{
    const auto r = f.create(form);
    REQUIRE(r.status == 201);
    drain(f);
    return str(r.json, "sid");
}

void set_status(fixture& f, const std::string& sid, store::call_status status,
                std::optional<std::int64_t> start = std::nullopt)
{
    store::call_update u;
    u.status = status;
    u.date_updated = f.now;
    u.start_time = start;
    REQUIRE(f.db.update_call_status(sid, u));
}

std::vector<store::outbox_item> outbox_items(fixture& f)
{
    auto items = f.db.due_items(f.now * 1000 + 1, 10);
    REQUIRE(items);
    return *items;
}

}  // namespace

TEST_CASE("a live call is redirected with Url or Twiml: stored, one control message to the edge, "
          "the Call JSON answered",
          "[api][calls][update]")
{
    fixture f;
    const std::string sid = created_call(f);
    set_status(f, sid, store::call_status::in_progress, f.now);

    core::form_params form;
    form.add("Url", "https://app.example.test/next");
    form.add("Method", "get");
    form.add("StatusCallback", "https://app.example.test/status2");
    form.add("FallbackUrl", "https://app.example.test/fallback");
    const auto r = f.send(http::verb::post, call_path(sid), core::format_form(form));
    INFO(r.body);
    REQUIRE(r.status == 200);
    CHECK(str(r.json, "sid") == sid);
    CHECK(str(r.json, "status") == "in-progress");
    const auto stored = f.db.find_call(sid).value().value();
    CHECK(stored.url == "https://app.example.test/next");
    CHECK(stored.method == "GET");
    CHECK(stored.status_callback == "https://app.example.test/status2");
    CHECK(stored.fallback_url == "https://app.example.test/fallback");
    CHECK(stored.status == store::call_status::in_progress);
    auto item = only_outbox_item(f);
    CHECK(item.kind == store::outbox_kind::edge_control);
    CHECK(item.target_url == control_url);
    CHECK(params_named(item, "CallSid") == std::vector<std::string>{sid});
    CHECK(params_named(item, "AccountSid") == std::vector<std::string>{account_sid});
    CHECK(params_named(item, "Action") == std::vector<std::string>{"redirect"});
    CHECK(params_named(item, "Url") == std::vector<std::string>{"https://app.example.test/next"});
    CHECK(params_named(item, "Method") == std::vector<std::string>{"GET"});
    CHECK(params_named(item, "Twiml").empty());
    drain(f);

    // Inline TwiML goes to the edge; the stored Url stays.
    core::form_params twiml;
    twiml.add("Twiml", "<Response><Say>Bye</Say><Hangup/></Response>");
    const auto t = f.send(http::verb::post, call_path(sid), core::format_form(twiml));
    REQUIRE(t.status == 200);
    item = only_outbox_item(f);
    CHECK(params_named(item, "Action") == std::vector<std::string>{"redirect"});
    CHECK(params_named(item, "Twiml") ==
          std::vector<std::string>{"<Response><Say>Bye</Say><Hangup/></Response>"});
    CHECK(params_named(item, "Url").empty());
    CHECK(f.db.find_call(sid).value()->url == "https://app.example.test/next");
}

TEST_CASE("Status=completed hangs up an answered call and cancels an unanswered one; canceled "
          "only before the answer; an ended call is 21220",
          "[api][calls][update]")
{
    fixture f;
    auto with_callback = simple_call();
    with_callback.add("StatusCallback", "https://app.example.test/status");
    const std::string completed = "Status=completed";
    const std::string canceled = "Status=canceled";

    SECTION("answered: canceled is refused, completed ends it with its duration and callback")
    {
        const std::string sid = created_call(f, with_callback);
        set_status(f, sid, store::call_status::in_progress, f.now);
        f.now += 42;
        check_twilio_error(f.send(http::verb::post, call_path(sid), canceled), 400, 21220);
        CHECK(f.outbox_depth() == 0);
        const auto r = f.send(http::verb::post, call_path(sid), completed);
        INFO(r.body);
        REQUIRE(r.status == 200);
        CHECK(str(r.json, "status") == "completed");
        CHECK(str(r.json, "duration") == "42");
        const auto items = outbox_items(f);
        REQUIRE(items.size() == 2);
        CHECK(items[0].kind == store::outbox_kind::edge_control);
        CHECK(params_named(items[0], "Action") == std::vector<std::string>{"hangup"});
        CHECK(params_named(items[0], "CallStatus") == std::vector<std::string>{"completed"});
        CHECK(items[1].kind == store::outbox_kind::status_callback);
        CHECK(items[1].target_url == "https://app.example.test/status");
        CHECK(params_named(items[1], "CallStatus") == std::vector<std::string>{"completed"});
        CHECK(params_named(items[1], "CallDuration") == std::vector<std::string>{"42"});

        // Ended: neither another end nor a redirect, and nothing more is queued.
        check_twilio_error(f.send(http::verb::post, call_path(sid), completed), 400, 21220);
        check_twilio_error(f.send(http::verb::post, call_path(sid),
                                  "Url=https%3A%2F%2Fapp.example.test%2Fnext"),
                           400, 21220);
        CHECK(f.outbox_depth() == 2);
    }

    SECTION("ringing: completed and canceled both cancel it")
    {
        for (const auto& body : {completed, canceled}) {
            const std::string sid = created_call(f, with_callback);
            set_status(f, sid, store::call_status::ringing);
            const auto r = f.send(http::verb::post, call_path(sid), body);
            REQUIRE(r.status == 200);
            CHECK(str(r.json, "status") == "canceled");
            const auto items = outbox_items(f);
            REQUIRE(items.size() == 2);  // the hang-up, and the completed-event callback
            CHECK(params_named(items[0], "CallStatus") == std::vector<std::string>{"canceled"});
            CHECK(params_named(items[1], "CallStatus") == std::vector<std::string>{"canceled"});
            drain(f);
        }
    }

    SECTION("queued: canceled, with no callback for a call never placed")
    {
        const std::string sid = created_call(f, with_callback);
        const auto r = f.send(http::verb::post, call_path(sid), canceled);
        REQUIRE(r.status == 200);
        CHECK(str(r.json, "status") == "canceled");
        const auto items = outbox_items(f);
        REQUIRE(items.size() == 1);
        CHECK(items[0].kind == store::outbox_kind::edge_control);
    }
}

TEST_CASE("every call update error has Twilio's shape, and nothing changes", "[api][calls][update]")
{
    fixture f;
    const std::string sid = created_call(f);
    const auto before = f.db.find_call(sid).value().value();
    const auto refused = [&](const std::string& body, int code, const std::string& message) {
        const auto r = f.send(http::verb::post, call_path(sid), body);
        check_twilio_error(r, 400, code);
        CHECK(str(r.json, "message") == message);
    };
    refused("Status=busy", 20001, "Status must be canceled or completed");
    refused("Url=https%3A%2F%2Fa.example.test%2F&Twiml=%3CResponse%2F%3E", 20001,
            "Url and Twiml are mutually exclusive");
    refused("Status=completed&Url=https%3A%2F%2Fa.example.test%2F", 20001,
            "Status cannot be combined with Url or Twiml");
    refused("StatusCallback=https%3A%2F%2Fa.example.test%2Fs", 20001,
            "FallbackUrl, FallbackMethod, StatusCallback and StatusCallbackMethod can be updated "
            "only together with Url or Twiml");
    refused("Method=GET", 20001, "Give Status, Url or Twiml to update a call");
    refused("Url=ftp%3A%2F%2Fa.example.test%2F", 21205,
            "Url is not a valid URL: scheme not http(s)");
    refused("Url=https%3A%2F%2F127.0.0.1%2F", 21205,
            "Url is not a valid URL: address 127.0.0.1 is loopback");
    refused("Url=https%3A%2F%2Fa.example.test%2F&Method=PUT", 21209, "Method must be GET or POST");
    refused("Status=completed&TimeLimit=30", 20001,
            "TimeLimit is not supported: the edge enforces call limits");
    refused("Status=completed&Status=canceled", 20001, "Status may be given only once");
    refused("Twiml=" + std::string(4001, 'x'), 20001, "Twiml must be at most 4000 characters");
    CHECK(f.db.find_call(sid).value().value() == before);
    CHECK(f.outbox_depth() == 0);

    // Unknown calls, another account's, and no credentials.
    check_twilio_error(f.send(http::verb::post, call_path("CA00000000000000000000000000000000"),
                              "Status=completed"),
                       404, 20404);
    check_twilio_error(f.send(http::verb::post, call_path(sid, other_sid), "Status=completed",
                              basic(other_sid, other_token)),
                       404, 20404);
    check_twilio_error(f.send(http::verb::post, call_path(sid), "Status=completed", std::nullopt),
                       401, 20003);
    check_twilio_error(f.send(http::verb::post, call_path(sid), "Status=completed",
                              basic(account_sid, account_token), "application/json"),
                       415, 20001);
    CHECK(f.db.find_call(sid).value().value() == before);
}

TEST_CASE("an ended call is deleted with 204; a live one is 21220 and kept; unknown is 404",
          "[api][calls][update]")
{
    fixture f;
    const std::string sid = created_call(f);
    const auto live = f.send(http::verb::delete_, call_path(sid));
    check_twilio_error(live, 400, 21220);
    CHECK(str(live.json, "message") ==
          "Call " + sid + " has not ended: only a call that has ended can be deleted");
    CHECK(f.db.find_call(sid).value().has_value());

    set_status(f, sid, store::call_status::completed);
    check_twilio_error(f.send(http::verb::delete_, call_path(sid, other_sid), {},
                              basic(other_sid, other_token)),
                       404, 20404);
    CHECK(f.db.find_call(sid).value().has_value());
    const auto gone = f.send(http::verb::delete_, call_path(sid));
    CHECK(gone.status == 204);
    CHECK(gone.body.empty());
    CHECK_FALSE(f.db.find_call(sid).value().has_value());
    check_twilio_error(f.send(http::verb::get, call_path(sid)), 404, 20404);
    check_twilio_error(f.send(http::verb::delete_, call_path(sid)), 404, 20404);
}

