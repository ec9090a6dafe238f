// The RESTful interface: GET/HEAD/PUT/DELETE on one record (spec/rest.md).
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/http_request.h"
#include "server/service.h"

namespace ryoan::server {

// A handler's reply, before the connection frames it. A connection keeps one and reuses it:
// Clear() keeps the strings' storage, so a steady stream of requests allocates nothing.
struct HttpReply {
  static constexpr size_t kMaxHeaders = 4;

  int status = 200;
  std::string body;
  size_t header_count = 0;
  // Handler headers, names Capitalised-Per-Dash (literals), values owned here.
  std::array<std::string_view, kMaxHeaders> header_names;
  std::array<std::string, kMaxHeaders> header_values;

  // Adds a header and returns its (empty) value to fill.
  std::string& AddHeader(std::string_view name);
  void Clear();
};

// `scratch` is the caller's reusable buffer for the decoded key.
void HandleRest(Service& service, const HttpRequest& request, std::string* scratch,
                HttpReply* reply);

}  // namespace ryoan::server
