#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora from tests/vectors and deploy/ into OUT/<target>/.

Usage: fuzz/make_seeds.py OUT
Seeds are derived data, regenerated on every run, never committed.
"""
import base64
import glob
import hashlib
import hmac
import json
import os
import sys
import urllib.parse

from cryptography import x509

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VEC = os.path.join(ROOT, "tests", "vectors")

# Must match fuzz/http_request.cpp.
ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"
ACCOUNT_TOKEN = "0123456789abcdef0123456789abcdef"
EDGE_TOKEN = "edge-secret-token"
PUBLIC_URL = "https://gw.example.test"
VERIFY_AT = 1767225605


def load(rel):
    with open(os.path.join(VEC, rel), encoding="utf-8") as f:
        return json.load(f)


def write(out, target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def cases():
    for path in sorted(glob.glob(os.path.join(VEC, "cases", "*.json"))):
        with open(path, encoding="utf-8") as f:
            yield os.path.basename(path)[:-5], json.load(f)


def calltokens():
    for path in sorted(glob.glob(os.path.join(VEC, "calltoken", "*.json"))):
        with open(path, encoding="utf-8") as f:
            yield os.path.basename(path)[:-5], json.load(f)


def edge_signature(url, params):
    # Twilio's X-Twilio-Signature: HMAC-SHA1 over the URL and the sorted name+value pairs.
    data = url + "".join(k + v for k, v in sorted(params))
    mac = hmac.new(EDGE_TOKEN.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def request(method, path, body="", headers=()):
    lines = [f"{method} {path} HTTP/1.1", "Host: gw.example.test"]
    lines += [f"{k}: {v}" for k, v in headers]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body.encode())}")
    return "\r\n".join(lines) + "\r\n\r\n" + body


def basic():
    raw = f"{ACCOUNT_SID}:{ACCOUNT_TOKEN}".encode()
    return ("Authorization", "Basic " + base64.b64encode(raw).decode())


def form_request(path, params, signed=True):
    body = urllib.parse.urlencode(params)
    headers = [("Content-Type", "application/x-www-form-urlencoded")]
    if signed:
        headers.append(("X-Twilio-Signature", edge_signature(PUBLIC_URL + path, params)))
    return request("POST", path, body, headers)


def main():
    out = sys.argv[1]
    identities = []
    for name, case in cases():
        for i, value in enumerate(case.get("identity_headers", [])):
            identities.append(value)
            write(out, "identity_header", f"{name}_{i}", value)
            write(out, "identity_header", f"{name}_{i}_line", "Identity: " + value)
        for i, p in enumerate(case.get("passports", [])):
            if "jws" in p:
                write(out, "passport", f"{name}_{i}", p["jws"])

    for name, ct in calltokens():
        for key in ("calltoken_value", "calltoken_json"):
            if key in ct:
                write(out, "calltoken", f"{name}_{key}", ct[key])
        if "calltoken_json" in ct:
            # A finding: a lone surrogate escape, which RapidJSON 1.1 decodes to bytes that are
            # not UTF-8 (tests/unit/core/calltoken_test.cpp has the case).
            lone = ct["calltoken_json"].replace('"identityHeaderTokens":["',
                                                '"identityHeaderTokens":["\\uDCDE', 1)
            write(out, "calltoken", f"{name}_lone_surrogate", lone)
        for key in ("webhook_form_body_fragment", "create_call_form_fragment"):
            if key in ct:
                write(out, "form", f"{name}_{key}", ct[key])
        if "parentCallInfoToken" in ct and "jws" in ct["parentCallInfoToken"]:
            write(out, "passport", f"{name}_jwt", ct["parentCallInfoToken"]["jws"])
    for path in sorted(glob.glob(os.path.join(VEC, "twilio_signature", "*.json"))):
        with open(path, encoding="utf-8") as f:
            v = json.load(f)
        if v.get("form_body"):
            write(out, "form", os.path.basename(path)[:-5], v["form_body"])

    # Calls API addresses: each kind, with parameters, headers, escapes and an IPv6 host.
    for i, address in enumerate([
            "+14155550101", "4155550101", "tel:+14155550101", "client:alice", "Client:bob@example.test",
            "sip:alice@example.test", "sip:alice@example.test:5061;transport=tls;secure=true",
            "sip:michael@example.com?mycustomheader=foo&myotherheader=bar",
            "sip:a%40b@[2001:db8::1]:5060;lr?Subject=caf%C3%A9", "sip:+14155550101@203.0.113.7;user=phone",
            "sips:alice@example.test", "Support_Line-1.0", "p@ss:w0rd!&="]):
        write(out, "call_address", f"address_{i}", address)

    # TNAuthList: the extension value (the OCTET STRING's content) of every PEM certificate.
    oid = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.26")
    for path in sorted(glob.glob(os.path.join(VEC, "pki", "*.pem"))):
        with open(path, "rb") as f:
            pem = f.read()
        if b"BEGIN CERTIFICATE" not in pem:
            continue
        for i, cert in enumerate(x509.load_pem_x509_certificates(pem)):
            try:
                ext = cert.extensions.get_extension_for_oid(oid)
            except x509.ExtensionNotFound:
                continue
            name = os.path.basename(path)[:-4]
            write(out, "tnauthlist", f"{name}_{i}", ext.value.value)

    with open(os.path.join(ROOT, "deploy", "stirgate.example.toml"), encoding="utf-8") as f:
        write(out, "config", "stirgate.example.toml", f.read())
    write(out, "config", "minimal.toml", '[server]\nlisten = "127.0.0.1:8080"\n')

    # HTTP requests that pass authentication, so the fuzzer starts inside the handlers.
    g1 = dict(cases())["G1_shaken_A"]
    verification = json.dumps({"verificationRequest": {
        "from": {"tn": "13105550100"}, "to": {"tn": ["14155550101"]}, "time": VERIFY_AT,
        "identities": g1["identity_headers"]}})
    json_headers = [basic(), ("Content-Type", "application/json"), ("Accept", "application/json"),
                    ("X-RequestID", "fuzz-1")]
    write(out, "http_request", "healthz", request("GET", "/healthz"))
    write(out, "http_request", "healthz_keepalive_twice",
          request("GET", "/healthz") + request("GET", "/healthz?x=1", headers=[("Connection", "close")]))
    write(out, "http_request", "atis_verify", request("POST", "/stir/v1/verification", verification, json_headers))
    g4 = dict(cases())["G4_shaken_plus_div"]
    write(out, "http_request", "atis_verify_div", request("POST", "/stir/v1/verification", json.dumps(
        {"verificationRequest": {"from": {"tn": "13105550100"}, "to": {"tn": ["14155550101"]},
                                 "time": VERIFY_AT, "identities": g4["identity_headers"],
                                 "requestUri": g4["sip"]["request_uri"]}}), json_headers))
    signing = json.dumps({"signingRequest": {
        "attest": "A", "orig": {"tn": "13105550100"}, "dest": {"tn": ["14155550101"]},
        "iat": VERIFY_AT, "origid": "4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55"}})
    write(out, "http_request", "atis_sign", request("POST", "/stir/v1/signing", signing, json_headers))
    calls = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    write(out, "http_request", "calls_create", request("POST", calls, urllib.parse.urlencode(
        [("To", "+14155550101"), ("From", "+13105550100"), ("Url", "https://app.example.test/twiml")]),
        [basic(), ("Content-Type", "application/x-www-form-urlencoded")]))
    write(out, "http_request", "calls_create_sip", request("POST", calls, urllib.parse.urlencode(
        [("To", "sip:alice@pbx.example.test;transport=tls?X-Tag=1"), ("From", "client:bob"),
         ("Url", "https://app.example.test/twiml"), ("CallerId", "client:support"),
         ("SipAuthUsername", "alice"), ("SipAuthPassword", "s3cret")]),
        [basic(), ("Content-Type", "application/x-www-form-urlencoded")]))
    ct = dict(calltokens())["calltoken_basic"]
    write(out, "http_request", "calls_forward", request("POST", calls, urllib.parse.urlencode(
        [("To", "+16505550102"), ("From", "+13105550100"), ("Url", "https://app.example.test/twiml"),
         ("CallToken", ct["calltoken_value"])]),
        [basic(), ("Content-Type", "application/x-www-form-urlencoded")]))
    write(out, "http_request", "calls_list", request("GET", calls + "?PageSize=2&Status=queued", headers=[basic()]))
    write(out, "http_request", "calls_fetch",
          request("GET", f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/CA5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a.json",
                  headers=[basic()]))
    incoming = [("CallSid", "CA00112233445566778899aabbccddeeff"), ("From", "+13105550100"),
                ("To", "+14155550101"), ("CallStatus", "ringing"), ("Direction", "inbound"),
                ("SipDate", g1["sip"]["date"])]
    incoming += [("Identity", v) for v in g1["identity_headers"]]
    write(out, "http_request", "incoming_call", form_request("/webhooks/incoming-call", incoming))
    status = [("CallSid", "CA00112233445566778899aabbccddeeff"), ("CallStatus", "completed"),
              ("CallDuration", "12"), ("SipResponseCode", "200")]
    write(out, "http_request", "call_status", form_request("/webhooks/call-status", status))
    write(out, "http_request", "incoming_then_status",
          form_request("/webhooks/incoming-call", incoming) + form_request("/webhooks/call-status", status))
    write(out, "http_request", "chunked", "POST /stir/v1/verification HTTP/1.1\r\nHost: x\r\n"
          "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n")
    write(out, "http_request", "expect_continue", request("POST", "/stir/v1/verification", "{}",
                                                          json_headers + [("Expect", "100-continue")]))
    write(out, "http_request", "head_and_405", request("HEAD", "/healthz") + request("DELETE", "/healthz"))
    # Failed-authentication limits: wrong passwords through a trusted proxy (the connection's
    # peer) for two X-Forwarded-For clients, then the right one: 401s, then 429 with Retry-After.
    wrong = ("Authorization", "Basic " + base64.b64encode(f"{ACCOUNT_SID}:wrong".encode()).decode())
    guesses = "".join(request("GET", calls, headers=[wrong, ("X-Forwarded-For", f"198.51.100.7, 192.0.2.{i % 2}")])
                      for i in range(7))
    write(out, "http_request", "auth_guessing", guesses + request(
        "GET", calls, headers=[basic(), ("X-Forwarded-For", "192.0.2.0"), ("X-Forwarded-For", "10.1.2.3")]))
    # ATIS signing for a number the account does not hold, with another origid: signed B.
    foreign = json.dumps({"signingRequest": {
        "attest": "A", "orig": {"tn": "12125550123"}, "dest": {"tn": ["14155550101"]},
        "iat": VERIFY_AT, "origid": "0b9e3f6a-1111-4222-8333-444455556666"}})
    write(out, "http_request", "atis_sign_foreign", request("POST", "/stir/v1/signing", foreign, json_headers))

    # The SIP face: the recorded messages of its unit tests (stored with LF) and every vector
    # case as a verification INVITE.
    sip_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "unit", "sip",
                           "messages")
    for path in sorted(glob.glob(os.path.join(sip_dir, "*.sip"))):
        with open(path, encoding="utf-8") as f:
            text = f.read().replace("\n", "\r\n")
        write(out, "sip_message", os.path.basename(path)[:-4], text)
    for name, case in cases():
        sip = case.get("sip", {})
        lines = [f"INVITE {sip.get('request_uri', 'sip:x@y')} SIP/2.0",
                 f"Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-{name}",
                 f"From: {sip.get('from', '<sip:a@b>;tag=1')}", f"To: {sip.get('to', '<sip:b@c>')}",
                 f"Call-ID: {name}", "CSeq: 1 INVITE"]
        if sip.get("p_asserted_identity"):
            lines.append("P-Asserted-Identity: " + sip["p_asserted_identity"])
        if sip.get("date"):
            lines.append("Date: " + sip["date"])
        lines += ["Identity: " + v for v in case.get("identity_headers", [])]
        lines += ["Content-Length: 0", "", ""]
        write(out, "sip_message", f"invite_{name}", "\r\n".join(lines))


if __name__ == "__main__":
    main()
