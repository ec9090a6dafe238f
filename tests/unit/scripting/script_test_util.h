// A fixture for the scripting tests: two in-memory databases (0 "%" cache tree, 1 "*" cache
// hash), a ScriptRuntime on a script file, captured log lines, and `eval` shortcuts that run
// Lua code through tests/scripts/procedures.lua.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "scripting/script_runtime.h"
#include "storage/database_spec.h"
#include "storage/db.h"

namespace ryoan::scripting {

inline const std::string kProcedures = std::string(RYOAN_SCRIPTS_DIR) + "/procedures.lua";

class ScriptFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* argument : {"%", "*"}) {
      storage::DatabaseSpec spec;
      ASSERT_TRUE(storage::ParseDatabaseSpec(argument, &spec).ok());
      std::unique_ptr<storage::DB> db;
      ASSERT_TRUE(storage::DB::Open(spec, storage::OpenOptions{}, &db).ok());
      dbs_.push_back(std::move(db));
    }
  }

  void TearDown() override {
    runtime_.reset();
    if (!temp_path_.empty()) std::remove(temp_path_.c_str());
  }

  storage::DB* db(size_t i) { return dbs_[i].get(); }

  ScriptOptions Options(const std::string& path, ScriptLimits limits, int threads) {
    ScriptOptions options;
    options.path = path;
    for (auto& db : dbs_) options.dbs.push_back(db.get());
    options.thread_count = threads;
    options.version = "0.9.56";
    options.limits = limits;
    options.log = [this](ScriptLogKind kind, std::string_view message) {
      static const char* kNames[] = {"DEBUG", "INFO", "SYSTEM", "ERROR"};
      std::lock_guard lock(log_mutex_);
      logs_.push_back(std::string(kNames[static_cast<int>(kind)]) + ": " + std::string(message));
    };
    return options;
  }

  // Starts a runtime on `path`; returns what Load returned.
  bool Start(const std::string& path = kProcedures, ScriptLimits limits = {}, int threads = 2) {
    runtime_ = std::make_unique<ScriptRuntime>(Options(path, limits, threads));
    return runtime_->Load();
  }

  // Starts a runtime on a script given as text (written to a temporary file).
  bool StartText(const std::string& text, ScriptLimits limits = {}, int threads = 2) {
    char name[] = "/tmp/ryoan_script_XXXXXX";
    int fd = mkstemp(name);
    EXPECT_GE(fd, 0);
    close(fd);
    temp_path_ = name;
    std::ofstream(temp_path_, std::ios::binary) << text;
    return Start(temp_path_, limits, threads);
  }

  int Call(const std::string& name, const std::map<std::string, std::string>& in,
           std::map<std::string, std::string>* out = nullptr) {
    ScriptInput input(in.begin(), in.end());
    ScriptOutput output;
    int code = runtime_->Call(name, input, &output);
    if (out != nullptr) {
      out->clear();
      for (auto& [k, v] : output) (*out)[k] = v;
    }
    return code;
  }

  // Every result of `code` (a Lua chunk), strings as they are and other values as
  // "<type>:<tostring>"; a Lua error gives {"ERROR <code>"}.
  std::vector<std::string> EvalAll(const std::string& code) {
    std::map<std::string, std::string> out;
    int rc = Call("eval", {{"code", code}}, &out);
    if (rc != kRvSuccess) return {"ERROR " + std::to_string(rc)};
    std::vector<std::string> results;
    int n = std::stoi(out["n"]);
    for (int i = 1; i <= n; i++) {
      auto it = out.find(std::to_string(i));
      results.push_back(it == out.end() ? "nil" : it->second);
    }
    return results;
  }

  // The first result of `code`, or "ERROR <code>", or "none".
  std::string Eval(const std::string& code) {
    std::vector<std::string> all = EvalAll(code);
    return all.empty() ? "none" : all[0];
  }

  std::vector<std::string> Logs() {
    std::lock_guard lock(log_mutex_);
    return logs_;
  }

  bool Logged(const std::string& line) {
    for (const std::string& l : Logs()) {
      if (l == line) return true;
    }
    return false;
  }

  std::vector<std::unique_ptr<storage::DB>> dbs_;
  std::unique_ptr<ScriptRuntime> runtime_;
  std::string temp_path_;
  std::mutex log_mutex_;
  std::vector<std::string> logs_;
};

}  // namespace ryoan::scripting
