"""A forwarding application written against Twilio's own helper library (Debian python3-twilio),
pointed at stirgate by changing only the base URL. It forwards an inbound call with its
CallToken, redirects the inbound call to new TwiML, ends it, tries the CallToken again (refused:
the parent call has ended), pages through the calls (forwards and back) and deletes the ended call. Prints what it
saw as one JSON object for the test that runs it (tests/integration/inbound_call_test.cpp).

Usage: twilio_forwarding_app.py BASE_URL ACCOUNT_SID AUTH_TOKEN INBOUND_SID CALL_TOKEN FROM TO URL
"""
import json
import os
import sys

# Loopback only: no proxy from the environment may see the test's traffic.
for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
    os.environ.pop(name, None)
os.environ["NO_PROXY"] = "*"

from twilio.base.exceptions import TwilioRestException  # noqa: E402
from twilio.rest import Client  # noqa: E402


def refusal(call):
    try:
        call()
    except TwilioRestException as e:
        return {"status": e.status, "code": e.code, "message": e.msg}
    return None


def main():
    base, account, token, inbound, call_token, caller, to, url = sys.argv[1:9]
    client = Client(account, token)
    client.api.base_url = base
    out = {}

    leg = client.calls.create(to=to, from_=caller, url=url, call_token=call_token)
    out["leg"] = {"sid": leg.sid, "parent_call_sid": leg.parent_call_sid, "status": leg.status}

    redirected = client.calls(inbound).update(twiml="<Response><Say>Moved</Say></Response>")
    out["redirected"] = redirected.status
    ended = client.calls(inbound).update(status="completed")
    out["ended"] = {"status": ended.status, "duration": ended.duration}
    out["again"] = refusal(
        lambda: client.calls.create(to=to, from_=caller, url=url, call_token=call_token))
    out["redirect_ended"] = refusal(lambda: client.calls(inbound).update(url=url))

    out["listed"] = [c.sid for c in client.calls.list(page_size=1)]
    first = client.calls.page(page_size=1)
    second = first.next_page()
    out["pages"] = [[c.sid for c in first], [c.sid for c in second] if second else []]
    back = second.previous_page() if second else None
    out["back"] = [c.sid for c in back] if back else []

    out["deleted"] = client.calls(inbound).delete()
    out["fetch_deleted"] = refusal(lambda: client.calls(inbound).fetch())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
