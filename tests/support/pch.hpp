#pragma once
#include "net/net.hpp"
#include <catch2/catch.hpp>
