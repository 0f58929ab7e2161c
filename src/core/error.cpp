#include "core/error.hpp"

namespace stirgate {
namespace {

class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "stirgate"; }
    std::string message(int ev) const override
    {
        if (ev <= 0 || ev >= errc_count) return "unknown stirgate error";
        return errc_name(static_cast<errc>(ev));
    }
};

}  // namespace

const std::error_category& stirgate_category() noexcept
{
    static const category instance;
    return instance;
}

std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), stirgate_category()};
}

const char* errc_name(errc e) noexcept
{
    switch (e) {
#define STIRGATE_ERRC_NAME(x) \
    case errc::x:             \
        return #x;
        STIRGATE_ERRC_NAME(bad_request)
        STIRGATE_ERRC_NAME(not_found)
        STIRGATE_ERRC_NAME(method_not_allowed)
        STIRGATE_ERRC_NAME(payload_too_large)
        STIRGATE_ERRC_NAME(header_too_large)
        STIRGATE_ERRC_NAME(uri_too_long)
        STIRGATE_ERRC_NAME(request_timeout)
        STIRGATE_ERRC_NAME(unsupported_media_type)
        STIRGATE_ERRC_NAME(not_acceptable)
        STIRGATE_ERRC_NAME(length_required)
        STIRGATE_ERRC_NAME(missing_parameter)
        STIRGATE_ERRC_NAME(invalid_parameter)
        STIRGATE_ERRC_NAME(body_unparseable)
        STIRGATE_ERRC_NAME(body_missing)
        STIRGATE_ERRC_NAME(unauthorized)
        STIRGATE_ERRC_NAME(forbidden)
        STIRGATE_ERRC_NAME(rate_limited)
        STIRGATE_ERRC_NAME(service_unavailable)
        STIRGATE_ERRC_NAME(internal)
        STIRGATE_ERRC_NAME(base64url_invalid)
        STIRGATE_ERRC_NAME(json_invalid)
        STIRGATE_ERRC_NAME(form_invalid)
        STIRGATE_ERRC_NAME(percent_encoding_invalid)
        STIRGATE_ERRC_NAME(key_invalid)
        STIRGATE_ERRC_NAME(crypto_failure)
        STIRGATE_ERRC_NAME(jws_malformed)
        STIRGATE_ERRC_NAME(jws_alg_unsupported)
        STIRGATE_ERRC_NAME(jws_signature_malformed)
        STIRGATE_ERRC_NAME(jws_signature_invalid)
        STIRGATE_ERRC_NAME(identity_header_malformed)
        STIRGATE_ERRC_NAME(identity_alg_unsupported)
        STIRGATE_ERRC_NAME(identity_ppt_unsupported)
        STIRGATE_ERRC_NAME(identity_ppt_mismatch)
        STIRGATE_ERRC_NAME(identity_info_mismatch)
        STIRGATE_ERRC_NAME(identity_compact_form)
        STIRGATE_ERRC_NAME(passport_header_invalid)
        STIRGATE_ERRC_NAME(passport_claims_invalid)
        STIRGATE_ERRC_NAME(passport_stale)
        STIRGATE_ERRC_NAME(passport_future)
        STIRGATE_ERRC_NAME(passport_orig_mismatch)
        STIRGATE_ERRC_NAME(passport_dest_mismatch)
        STIRGATE_ERRC_NAME(div_chain_broken)
        STIRGATE_ERRC_NAME(div_orig_changed)
        STIRGATE_ERRC_NAME(x5u_fetch_failed)
        STIRGATE_ERRC_NAME(x5u_refused)
        STIRGATE_ERRC_NAME(cert_untrusted)
        STIRGATE_ERRC_NAME(cert_expired)
        STIRGATE_ERRC_NAME(cert_revoked)
        STIRGATE_ERRC_NAME(cert_no_tnauthlist)
        STIRGATE_ERRC_NAME(tn_invalid)
        STIRGATE_ERRC_NAME(calltoken_malformed)
        STIRGATE_ERRC_NAME(calltoken_bad_signature)
        STIRGATE_ERRC_NAME(calltoken_missing_claim)
        STIRGATE_ERRC_NAME(calltoken_expired)
        STIRGATE_ERRC_NAME(calltoken_account_mismatch)
        STIRGATE_ERRC_NAME(calltoken_hash_mismatch)
        STIRGATE_ERRC_NAME(calltoken_from_mismatch)
        STIRGATE_ERRC_NAME(calltoken_call_mismatch)
        STIRGATE_ERRC_NAME(calltoken_parent_mismatch)
        STIRGATE_ERRC_NAME(calltoken_parent_ended)
        STIRGATE_ERRC_NAME(calltoken_leg_limit)
        STIRGATE_ERRC_NAME(caller_id_unverified)
        STIRGATE_ERRC_NAME(signature_missing)
        STIRGATE_ERRC_NAME(signature_invalid)
        STIRGATE_ERRC_NAME(to_missing)
        STIRGATE_ERRC_NAME(to_invalid)
        STIRGATE_ERRC_NAME(from_missing)
        STIRGATE_ERRC_NAME(from_invalid)
        STIRGATE_ERRC_NAME(url_invalid)
        STIRGATE_ERRC_NAME(method_invalid)
        STIRGATE_ERRC_NAME(timeout_invalid)
        STIRGATE_ERRC_NAME(call_state_invalid)
        STIRGATE_ERRC_NAME(application_sid_unsupported)
        STIRGATE_ERRC_NAME(config_invalid)
        STIRGATE_ERRC_NAME(upstream_timeout)
        STIRGATE_ERRC_NAME(upstream_tls)
        STIRGATE_ERRC_NAME(upstream_unreachable)
        STIRGATE_ERRC_NAME(upstream_bad_response)
        STIRGATE_ERRC_NAME(upstream_refused)
        STIRGATE_ERRC_NAME(conflict)
        STIRGATE_ERRC_NAME(store_unavailable)
#undef STIRGATE_ERRC_NAME
    }
    return "unknown";
}

}  // namespace stirgate
