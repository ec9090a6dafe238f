// The arithmetic of increment and increment_double on stored values (spec/databases.md 5.1,
// 5.2): 8-byte big-endian int64 counters and 16-byte fixed-point numbers. Pure functions,
// so the byte formats can be tested without a database.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace ryoan::storage {

enum class IncrementOutcome {
  kWrite,      // store the encoded result, report success
  kNoWrite,    // leave the record unchanged, report the result
  kFail,       // leave the record unchanged, fail with LOGIC
  kWriteFail,  // store the encoded result, but fail with LOGIC
};

inline constexpr int64_t kDecUnit = 1000000000000000;  // 10^15: fraction unit of doubles

// `current`: the live value, or nullopt when absent. orig INT64_MIN = "try", INT64_MAX =
// "set". On kWrite/kWriteFail `out` holds the 8 bytes to store.
IncrementOutcome IncrementInt(std::optional<std::string_view> current, int64_t num, int64_t orig,
                              int64_t* result, char out[8]);

// orig -inf = "try", +inf = "set". On kWrite/kWriteFail `out` holds the 16 bytes to store.
IncrementOutcome IncrementDouble(std::optional<std::string_view> current, double num, double orig,
                                 double* result, char out[16]);

// Helpers for the byte formats.
void EncodeInt64(int64_t v, char out[8]);
int64_t DecodeInt64(const char* in);

}  // namespace ryoan::storage
