#pragma once
// STI-AS policy for calls the gateway places (DESIGN.md "Forwarded and outbound calls" and
// "Twilio API details"): which attestation an originated call gets, and the Identity header
// values of the outbound leg. Pure: keys, the time and the inputs are arguments.
//
//   originated call (no CallToken):  SHAKEN(orig=From, dest=To, attest per policy, origid)
//   forwarded call, inbound SHAKEN:  inbound SHAKEN, inbound DIVs (chain order), new DIV
//   forwarded call, no SHAKEN:       SHAKEN C(orig=From, dest=parent To), new DIV
// The new DIV (RFC 8946 section 3) has orig = the original caller, dest = the new To and
// div = the number that forwards (the parent call's To); its iat is the time it is signed
// (DESIGN.md: a DIV's iat is the time it is signed, so a verifier's freshness check holds for
// the new leg).

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/accounts.hpp"
#include "core/calltoken.hpp"
#include "core/crypto.hpp"
#include "core/error.hpp"
#include "core/identity_header.hpp"
#include "core/passport.hpp"
#include "core/tn.hpp"
#include "core/verstat.hpp"

namespace stirgate::sti {

// The gateway's STI-AS identity ([signing]).
struct signing_identity {
    core::es256_private_key key;
    std::string x5u;  // URL of the signing certificate: PASSporT x5u and Identity info
    // Told of every PASSporT signed (stirgate_signatures_total); optional, thread-safe.
    std::function<void(core::passport_type)> on_signed = {};
    // How the Identity values are written (ppt quoted or bare); the SIP face writes the bare
    // ppt=shaken of DESIGN.md "SIP face".
    core::identity_format_options format = {};
};

// What the outbound leg carries.
struct outbound_identity {
    // Full Identity header values: the SHAKEN PASSporT first, then each DIV in chain order.
    std::vector<std::string> identity_headers;
    // The call's StirStatus: the inbound SHAKEN's attest for a forwarded call, C when the
    // gateway signed C itself, else the policy's level.
    core::attestation attestation = core::attestation::C;
};

// Attestation for a call the account originates from `from`: the level a number of the
// account's inventory (its [[accounts.numbers]]) is marked with; B for any other caller ID (the
// customer is known, its right to the number is not).
core::attestation originating_attestation(std::span<const core::number_config> inventory,
                                          const core::e164_number& from);

// The inventory policy for a SHAKEN PASSporT of `orig` signed for `account`:
// originating_attestation of the TN in the account's inventory, B for a TN it does not hold and
// for a URI. What granted_attestation gives when nothing lower is asked (trusted_sbc aside).
core::attestation inventory_attestation(const core::account_config& account,
                                        const core::passport_identity& orig);

// Attestation for a SHAKEN PASSporT an account asks the gateway to sign (ATIS POST
// /stir/v1/signing): the Calls API's policy, originating_attestation of `orig` in the account's
// inventory (B for a TN it does not hold, and for a URI). The request may ask for a lower level
// than the policy's (an SBC that knows less about the call), never a higher one: asking A where
// the policy gives B signs B. An account with trusted_sbc gets the level it asks for.
core::attestation granted_attestation(const core::account_config& account,
                                      const core::passport_identity& orig,
                                      core::attestation requested);

// One SHAKEN PASSporT (orig and dest canonical TNs, RFC 8224 section 8) as a full Identity header
// value written per signer.format, told to signer.on_signed. errc::key_invalid without a key;
// passport_claims_invalid when origid is empty.
[[nodiscard]] result<std::string> sign_shaken(const signing_identity& signer,
                                              core::attestation attest, std::string orig_tn,
                                              std::string dest_tn, std::string origid,
                                              std::int64_t iat);

// Originated call: one SHAKEN PASSporT (orig = from, dest = to, iat = now, origid = the
// account's, attest from its inventory). errc::key_invalid without a key;
// passport_claims_invalid when origid is empty.
[[nodiscard]] result<outbound_identity> sign_originated_call(
    const signing_identity& signer, std::string_view origid,
    std::span<const core::number_config> inventory, const core::e164_number& from,
    const core::e164_number& to, std::int64_t now);

// Forwarded call with a CallToken that core::validate_calltoken accepted (its
// identityHeaderTokens are what the platform received, so they are not verified again here).
// Kept from the token: the first SHAKEN PASSporT, then the DIV PASSporTs in chain order (each
// linked by its div to the dest of one before it; unlinked ones keep arrival order after
// them). Values that are not SHAKEN or DIV PASSporTs (unsupported ppt, undecodable) are not
// forwarded: a verifier downstream would ignore or fail them (RFC 8224 section 6.2).
// errc::tn_invalid when the token's `to` is not a TN (no div can be formed).
// `origid` is the account's, for the SHAKEN C the gateway signs when the token carries none.
[[nodiscard]] result<outbound_identity> sign_forwarded_call(const signing_identity& signer,
                                                            std::string_view origid,
                                                            const core::calltoken& token,
                                                            const core::e164_number& from,
                                                            const core::e164_number& to,
                                                            std::int64_t now);

}  // namespace stirgate::sti
