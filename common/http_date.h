// Dates on the wire: RFC 1123 for Date and X-Kt-Xt, and the X-Kt-Xt input forms of
// spec/rest.md section 3.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ryoan {

// "Sun, 06 Nov 1994 08:49:37 GMT".
std::string FormatHttpDate(int64_t unix_seconds);
// The same into a caller's buffer of at least kHttpDateLength bytes (no NUL written); returns
// the length, always 29. Years outside 0..9999 are clamped to keep the fixed layout.
inline constexpr size_t kHttpDateLength = 29;
size_t FormatHttpDate(int64_t unix_seconds, char* out);

// Parses an X-Kt-Xt input value: decimal seconds, decimal with unit s/m/h/d, hex 0x..,
// W3CDTF, "YYYY/MM/DD hh:mm:ss", RFC 1123/822 with the zones the spec lists. nullopt when
// unparsable.
std::optional<int64_t> ParseHttpDate(std::string_view text);

}  // namespace ryoan
