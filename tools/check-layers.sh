#!/bin/sh
# Layers point inward (docs/design.md "Layers", #12 item 1):
#   src/core, src/obs  <-  src/sti, src/net, src/store  <-  src/rest  <-  api/, webhooks/
#   <-  src/app, main; src/sip (the SIP face) beside src/rest, on core, sti, net and obs only
# Fails, listing the offending lines, when an #include runs the other way, or when src/core
# includes Asio or Beast (STYLE.md section 1). Usage: check-layers.sh [SOURCE_DIR]
set -u
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2
status=0

# forbid DIRS... -- PATTERN MESSAGE: an #include matching PATTERN under any of DIRS fails.
forbid() {
    pattern=$1
    message=$2
    shift 2
    hits=$(grep -rnE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[\"<]($pattern)" "$@" 2>/dev/null |
        grep -vE "${allow:-^$}")
    if [ -n "$hits" ]; then
        printf '%s\n%s\n\n' "$message" "$hits"
        status=1
    fi
}

allow=
forbid 'boost/(asio|beast)' "src/core must stay pure (no Asio/Beast):" src/core
forbid '(sti|net|store|obs|app|api|webhooks|rest|sip)/' "src/core includes only core:" src/core
forbid '(sti|net|store|app|api|webhooks|rest|sip)/' "src/obs includes only core:" src/obs
forbid '(rest|app|api|webhooks|sip)/' "src/sti, src/net, src/store must not include rest/, app/, api/, webhooks/ or sip/:" \
    src/sti src/net src/store
forbid '(app|api|webhooks|sip)/' "src/rest (the handlers' shared toolkit) must not include app/, api/, webhooks/ or sip/:" \
    src/rest
# The SIP face sits beside the HTTP handlers: core, sti, net and obs only.
forbid '(app|api|webhooks|store|rest)/' "src/sip must not include app/, api/, webhooks/, store/ or rest/:" src/sip
forbid 'sip/' "api/ and webhooks/ must not include sip/:" api webhooks
forbid 'app/' "api/ and webhooks/ must not include app/:" api webhooks
forbid 'webhooks/' "api/ must not include webhooks/:" api
forbid 'api/' "webhooks/ must not include api/:" webhooks

exit $status
