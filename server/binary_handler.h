// Executes binary-protocol requests (spec/binary.md) against the databases.
#pragma once

#include <string>
#include <string_view>

#include "server/binary_request.h"
#include "server/service.h"

namespace ryoan::server {

// Runs `request` (whose offsets point into `data`) and appends the reply to `out`, unless
// the request asked for none. Returns false when the connection must be closed after the
// reply (a failed bulk operation, replication without an update log).
bool HandleBinaryRequest(Service& service, const BinaryRequest& request, std::string_view data,
                         std::string* out);

// "bin_set_bulk" and so on, for the access log.
std::string_view BinaryRequestName(uint8_t magic);

}  // namespace ryoan::server
