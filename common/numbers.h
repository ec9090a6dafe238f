// Number parsing exactly as the original reads parameters (spec/http-rpc.md 5.4,
// spec/databases.md 2, spec/ktserver-cli.md 1). None of these fail: garbage reads as 0.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ryoan {

// Skips leading bytes 0x01-0x20, optional sign, decimal digits to the first non-digit;
// wraps modulo 2^64 (so "18446744073709551615" is -1).
int64_t ParseInt(std::string_view s);

// Skips leading bytes 0x01-0x20, optional sign, "inf"/"nan" prefixes (any case), digits,
// optional fraction (at most 16 significant digits used), optional e/E exponent.
double ParseReal(std::string_view s);

// atoix: optional sign, digits, optional fraction, then an optional binary unit
// k m g t p e (x2^10 .. x2^60, any case). "1e3" means 1 * 2^60.
int64_t ParseIntWithUnit(std::string_view s);

// Decimal rendering helpers used in replies.
std::string FormatReal(double v, int decimals);  // printf("%.<decimals>f"), "inf"/"-inf"/"nan"

}  // namespace ryoan
