#pragma once
// [[accounts]] and their [[accounts.numbers]] read from the config (app/config.cpp): the SID,
// origid and numbers checked by core's grammars, verified caller IDs in E.164 form.

#include "app/config_section.hpp"
#include "core/accounts.hpp"

namespace stirgate::app::toml_reader {

core::account_config read_account(section& s);

}  // namespace stirgate::app::toml_reader
