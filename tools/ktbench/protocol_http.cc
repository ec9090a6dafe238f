// HTTP RPC (/rpc/get, /rpc/set, /rpc/get_bulk, /rpc/set_bulk) and REST (GET/PUT /key).
//
// Forms chosen as the cheapest faithful ones that real clients use: a single get is
// `GET /rpc/get?key=...` (the query form of the Node client), writes and bulk calls are
// `POST` with a raw TSV body (the C++ client library's form; keys and values are alphanumeric,
// so no colenc is needed). Replies may come back with colenc=B or U (values over 255 bytes
// force an encoding), which is decoded with the project's own codecs.
#include <string>

#include "common/codec.h"
#include "common/tsv.h"
#include "tools/ktbench/http_response.h"
#include "tools/ktbench/protocol.h"

namespace ktbench {
namespace {

constexpr std::string_view kTsvType = "text/tab-separated-values";

class HttpBase : public Protocol {
 public:
  HttpBase(const Options& opts, const Workload& workload)
      : workload_(workload), verify_(opts.verify) {
    host_header_ = "Host: " + opts.host + ":" + std::to_string(opts.port) + "\r\n";
  }

 protected:
  void AppendKey(uint64_t k, std::string* out) {
    char buf[kKeySize];
    Workload::FormatKey(k, buf);
    // Keys are alphanumeric so this copies them, but keep the encoding for fidelity.
    ryoan::AppendUrlEncode(std::string_view(buf, kKeySize), out);
  }

  // Decodes a TSV field into scratch (or returns it as is without an encoding).
  std::string_view Decode(std::string_view field, ryoan::ColumnEncoding enc, std::string* scratch) {
    switch (enc) {
      case ryoan::ColumnEncoding::kNone:
        return field;
      case ryoan::ColumnEncoding::kBase64:
        scratch->clear();
        ryoan::AppendBase64Decode(field, scratch);
        return *scratch;
      case ryoan::ColumnEncoding::kUrl:
        if (field.find_first_of("%+") == std::string_view::npos) return field;
        scratch->clear();
        ryoan::AppendUrlDecode(field, scratch);
        return *scratch;
      case ryoan::ColumnEncoding::kQuotedPrintable:
        scratch->clear();
        ryoan::AppendQuotedPrintableDecode(field, scratch);
        return *scratch;
    }
    return field;
  }

  const Workload& workload_;
  bool verify_;
  std::string host_header_;
  std::string name_scratch_, value_scratch_;
};

class HttpRpc : public HttpBase {
 public:
  HttpRpc(const Options& opts, const Workload& workload) : HttpBase(opts, workload) {
    // A single set always has the same head and the same body length: formatted once.
    set_head_ = "POST /rpc/set HTTP/1.1\r\n" + host_header_ +
                "Content-Type: text/tab-separated-values\r\nContent-Length: ";
    AppendDecimal((4 + kKeySize + 1) + (6 + workload_.value_size() + 1), &set_head_);
    set_head_ += "\r\n\r\nkey\t";
  }

  void Encode(const Request& req, std::string* out) override {
    const size_t vsiz = workload_.value_size();
    if (req.op == Op::kGet && req.count == 1) {
      out->append("GET /rpc/get?key=");
      AppendKey(req.keys[0], out);
      out->append(" HTTP/1.1\r\n");
      out->append(host_header_);
      out->append("\r\n");
      return;
    }
    if (req.op == Op::kSet && req.count == 1) {
      out->append(set_head_);
      Workload::AppendKey(req.keys[0], out);
      out->append("\nvalue\t");
      out->append(workload_.Value(req.keys[0]));
      out->push_back('\n');
      return;
    }
    size_t body;
    std::string_view path;
    if (req.op == Op::kSet) {
      path = "/rpc/set_bulk";
      body = static_cast<size_t>(req.count) * (1 + kKeySize + 1 + vsiz + 1);
    } else {
      path = "/rpc/get_bulk";
      body = static_cast<size_t>(req.count) * (1 + kKeySize + 2);
    }
    out->append("POST ");
    out->append(path);
    out->append(" HTTP/1.1\r\n");
    out->append(host_header_);
    out->append("Content-Type: text/tab-separated-values\r\nContent-Length: ");
    AppendDecimal(body, out);
    out->append("\r\n\r\n");
    for (int i = 0; i < req.count; ++i) {
      out->push_back('_');
      Workload::AppendKey(req.keys[i], out);
      out->push_back('\t');
      if (req.op == Op::kSet) out->append(workload_.Value(req.keys[i]));
      out->push_back('\n');
    }
  }

  ParseStatus Parse(const Request& req, std::string_view in, size_t* consumed,
                    Reply* reply) override {
    HttpResponse resp;
    HttpParse st = ParseHttpResponse(in, false, &resp);
    if (st == HttpParse::kIncomplete) return ParseStatus::kIncomplete;
    if (st == HttpParse::kMalformed) return ParseStatus::kFatal;
    *consumed = resp.size;
    reply->closed = resp.close;
    if (req.op == Op::kSet) {
      reply->error = resp.status != 200;
      return ParseStatus::kDone;
    }
    if (resp.status == 450 && req.count == 1) {
      reply->misses = 1;
      return ParseStatus::kDone;
    }
    if (resp.status != 200 || resp.content_type.substr(0, kTsvType.size()) != kTsvType) {
      reply->error = true;
      return ParseStatus::kDone;
    }
    ParseGetBody(req, resp, reply);
    return ParseStatus::kDone;
  }

 private:
  std::string set_head_;  // everything of a single set up to its key

  void ParseGetBody(const Request& req, const HttpResponse& resp, Reply* reply) {
    const ryoan::ColumnEncoding enc = ryoan::ParseColumnEncoding(resp.content_type);
    const bool single = req.count == 1;
    std::string_view body = resp.body;
    bool found_value = false;
    size_t pos = 0;
    while (pos < body.size()) {
      size_t end = LineEnd(body, pos);
      if (end == std::string_view::npos) end = body.size() + 1;  // last line without LF
      std::string_view line = body.substr(pos, end - pos - 1);
      pos = end;
      size_t tab = line.find('\t');
      if (tab == std::string_view::npos) continue;
      std::string_view name = Decode(line.substr(0, tab), enc, &name_scratch_);
      if (single) {
        if (name != "value") continue;
        found_value = true;
        if (verify_) {
          std::string_view value = Decode(line.substr(tab + 1), enc, &value_scratch_);
          if (!workload_.Check(req.keys[0], value)) ++reply->mismatches;
        }
        continue;
      }
      if (name.empty() || name[0] != '_') continue;
      ++reply->hits;
      if (verify_) {
        uint64_t k;
        bool key_ok = Workload::ParseKey(name.substr(1), &k);
        std::string_view value = Decode(line.substr(tab + 1), enc, &value_scratch_);
        if (!key_ok || !workload_.Check(k, value)) ++reply->mismatches;
      }
    }
    if (single) {
      if (found_value) {
        reply->hits = 1;
      } else {
        reply->error = true;
      }
    } else {
      reply->misses = req.count > reply->hits ? req.count - reply->hits : 0;
    }
  }
};

// REST has no bulk call (spec/rest.md 4): a "bulk" of B is B requests sent back to back.
class Rest : public HttpBase {
 public:
  using HttpBase::HttpBase;

  void Encode(const Request& req, std::string* out) override {
    for (int i = 0; i < req.count; ++i) {
      if (req.op == Op::kGet) {
        out->append("GET /");
        AppendKey(req.keys[i], out);
        out->append(" HTTP/1.1\r\n");
        out->append(host_header_);
        out->append("\r\n");
      } else {
        out->append("PUT /");
        AppendKey(req.keys[i], out);
        out->append(" HTTP/1.1\r\n");
        out->append(host_header_);
        out->append("Content-Length: ");
        AppendDecimal(workload_.value_size(), out);
        out->append("\r\n\r\n");
        out->append(workload_.Value(req.keys[i]));
      }
    }
  }

  ParseStatus Parse(const Request& req, std::string_view in, size_t* consumed,
                    Reply* reply) override {
    size_t pos = 0;
    Reply r;
    for (int i = 0; i < req.count; ++i) {
      HttpResponse resp;
      HttpParse st = ParseHttpResponse(in.substr(pos), false, &resp);
      if (st == HttpParse::kIncomplete) return ParseStatus::kIncomplete;
      if (st == HttpParse::kMalformed) return ParseStatus::kFatal;
      pos += resp.size;
      if (req.op == Op::kSet) {
        if (resp.status != 201) r.error = true;
      } else if (resp.status == 404) {
        ++r.misses;
      } else if (resp.status != 200) {
        r.error = true;
      } else {
        ++r.hits;
        if (verify_ && !workload_.Check(req.keys[i], resp.body)) ++r.mismatches;
      }
      if (resp.close) {
        // Nothing more will come on this connection; the rest of the batch is lost.
        r.closed = true;
        if (i + 1 < req.count) r.error = true;
        break;
      }
    }
    *consumed = pos;
    *reply = r;
    return ParseStatus::kDone;
  }
};

}  // namespace

std::unique_ptr<Protocol> MakeHttpRpcProtocol(const Options& opts, const Workload& workload) {
  return std::make_unique<HttpRpc>(opts, workload);
}

std::unique_ptr<Protocol> MakeRestProtocol(const Options& opts, const Workload& workload) {
  return std::make_unique<Rest>(opts, workload);
}

}  // namespace ktbench
