// The RESTful interface: GET/HEAD/PUT/DELETE on one record (spec/rest.md).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "server/http_request.h"
#include "server/service.h"

namespace ryoan::server {

// A handler's reply, before the connection frames it.
struct HttpReply {
  int status = 200;
  // Handler headers, names Capitalised-Per-Dash.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

void HandleRest(Service& service, const HttpRequest& request, HttpReply* reply);

}  // namespace ryoan::server
