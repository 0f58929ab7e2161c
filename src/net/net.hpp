#pragma once
// Include this before any Asio/Beast header: Boost 1.74's asio/awaitable.hpp uses std::exchange
// without including <utility>, which g++ 12 rejects (STYLE.md section 3). Also the precompiled
// header of stirgate_service.
#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
