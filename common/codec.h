// Byte codecs shared by the server and the client (spec/http-rpc.md section 5).
#pragma once

#include <string>
#include <string_view>

namespace ryoan {

// Base64, standard alphabet with '=' padding, no line breaks.
std::string Base64Encode(std::string_view in);
// Skips bytes outside the alphabet; stops after the first quantum containing '='.
std::string Base64Decode(std::string_view in);

// Quoted-printable: '=', < 0x20 and > 0x7E as =XX (upper-case hex).
std::string QuotedPrintableEncode(std::string_view in);
// =XX (either case) -> byte; "=\r\n" and "=\n" removed; other bytes < 0x20 and 0x7F dropped.
std::string QuotedPrintableDecode(std::string_view in);

// URL encoding: A-Z a-z 0-9 _ - . ~ literal, every other byte %xx with lower-case hex.
std::string UrlEncode(std::string_view in);
// %XY -> byte (a non-hex digit counts as 0, a '%' at the very end is dropped), '+' -> space,
// bytes 0x00-0x20 and 0x7F dropped, raw bytes >= 0x80 kept (allowed deviation).
std::string UrlDecode(std::string_view in);

// Appending forms of the above, for hot paths that build one output buffer.
void AppendBase64Encode(std::string_view in, std::string* out);
void AppendBase64Decode(std::string_view in, std::string* out);
void AppendQuotedPrintableEncode(std::string_view in, std::string* out);
void AppendQuotedPrintableDecode(std::string_view in, std::string* out);
void AppendUrlEncode(std::string_view in, std::string* out);
void AppendUrlDecode(std::string_view in, std::string* out);

// 0-15 for a hex digit (either case), -1 otherwise.
int HexDigitValue(unsigned char c);

}  // namespace ryoan
