// A blocking client for KT's RESTful interface (spec/rest.md): one record per request,
// addressed by "/<database>/<key>" or "/<key>" (database 0).
//
// Keys and database expressions are percent-encoded by the client, so any byte string can be
// used. Replies are returned whole (status, headers in arrival order, body); the status is -1
// when no reply could be read. The connection is kept alive and re-made when needed, as in
// RpcClient. Not thread-safe.
//
// Example:
//   RestClient rest;
//   rest.Open("127.0.0.1", 1978, 5.0);
//   rest.Put("japan", "tokyo");                 // 201
//   HttpResponse r = rest.Get("japan");         // 200, body "tokyo"
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/http_connection.h"

namespace ryoan::client {

class RestClient {
 public:
  bool Open(const std::string& host, int port, double timeout = 30);
  void Close();

  // The target path for `key` in database `db` ("" = no database segment, i.e. database 0):
  // "/" + UrlEncode(db) + "/" + UrlEncode(key), or "/" + UrlEncode(key).
  static std::string Path(std::string_view key, std::string_view db = {});

  HttpResponse Get(std::string_view key, std::string_view db = {});
  HttpResponse Head(std::string_view key, std::string_view db = {});
  // `mode`: "add", "replace" or empty (set); `xt`: the X-Kt-Xt header text, if any.
  HttpResponse Put(std::string_view key, std::string_view value, std::string_view db = {},
                   std::string_view mode = {}, std::optional<std::string> xt = std::nullopt);
  HttpResponse Delete(std::string_view key, std::string_view db = {});

  // Any request, target taken verbatim.
  HttpResponse Request(std::string_view method, std::string_view target,
                       const std::vector<HttpResponse::Header>& headers = {},
                       std::string_view body = {});

  HttpSession& session() { return session_; }

 private:
  HttpSession session_;
};

}  // namespace ryoan::client
