"""A forwarding application written against Twilio's own helper library (Debian python3-twilio),
pointed at stirgate by changing only the base URL. It forwards an inbound call into a conference
with its CallToken (participants.create), fetches, lists and mutes that participant, redirects
the inbound call to new TwiML, ends it, tries the CallToken again (refused: the parent call has
ended), pages through the calls (forwards and back), kicks the participant and deletes the
ended call. Prints what it saw as one JSON object for the test that runs it
(tests/integration/inbound_call_test.cpp).

Usage: twilio_forwarding_app.py BASE_URL ACCOUNT_SID AUTH_TOKEN INBOUND_SID CALL_TOKEN FROM TO URL
"""
import inspect
import json
import os
import sys

# Loopback only: no proxy from the environment may see the test's traffic.
for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
    os.environ.pop(name, None)
os.environ["NO_PROXY"] = "*"

from twilio.base.exceptions import TwilioRestException  # noqa: E402
from twilio.base import values  # noqa: E402
from twilio.rest import Client  # noqa: E402
from twilio.rest.api.v2010.account.conference.participant import ParticipantInstance  # noqa: E402

CONFERENCE = "Support-Room"


def add_participant(client, conference, **params):
    """participants.create(call_token=...). Debian's twilio-python 7.7.1 predates the call_token
    argument (later releases have it, and then it is used as is); there the request goes the
    way create() sends it: the list's URI, the client's credentials, ParticipantInstance."""
    participants = client.conferences(conference).participants
    if "call_token" in inspect.signature(participants.create).parameters:
        return participants.create(**params)
    data = values.of({"From": params["from_"], "To": params["to"],
                      "CallToken": params.get("call_token", values.unset),
                      "Label": params.get("label", values.unset)})
    payload = participants._version.create(method="POST", uri=participants._uri, data=data)
    return ParticipantInstance(participants._version, payload,
                               account_sid=participants._solution["account_sid"],
                               conference_sid=participants._solution["conference_sid"])


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

    joined = add_participant(client, CONFERENCE, from_=caller, to=to, call_token=call_token,
                             label="agent")
    conference = joined.conference_sid
    leg = client.calls(joined.call_sid).fetch()
    out["leg"] = {"sid": leg.sid, "parent_call_sid": leg.parent_call_sid, "status": leg.status,
                  "conference_sid": conference, "label": joined.label,
                  "participant_status": joined.status}
    room = client.conferences(conference).fetch()
    out["conference"] = {"friendly_name": room.friendly_name, "status": room.status}
    out["participants"] = [p.call_sid for p in client.conferences(conference).participants.list()]
    out["by_label"] = client.conferences(conference).participants("agent").fetch().call_sid
    out["muted"] = client.conferences(conference).participants(leg.sid).update(muted=True).muted

    redirected = client.calls(inbound).update(twiml="<Response><Say>Moved</Say></Response>")
    out["redirected"] = redirected.status
    ended = client.calls(inbound).update(status="completed")
    out["ended"] = {"status": ended.status, "duration": ended.duration}
    out["again"] = refusal(
        lambda: add_participant(client, CONFERENCE, from_=caller, to=to, call_token=call_token))
    out["redirect_ended"] = refusal(lambda: client.calls(inbound).update(url=url))

    out["listed"] = [c.sid for c in client.calls.list(page_size=1)]
    first = client.calls.page(page_size=1)
    second = first.next_page()
    out["pages"] = [[c.sid for c in first], [c.sid for c in second] if second else []]
    back = second.previous_page() if second else None
    out["back"] = [c.sid for c in back] if back else []

    out["kicked"] = client.conferences(conference).participants(leg.sid).delete()
    out["after_kick"] = [p.call_sid for p in client.conferences(conference).participants.list()]
    out["deleted"] = client.calls(inbound).delete()
    out["fetch_deleted"] = refusal(lambda: client.calls(inbound).fetch())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
