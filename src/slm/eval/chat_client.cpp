#include "slm/eval/chat_client.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/hash.h"
#include "slm/util/jsonl.h"
#include "slm/util/progress.h"

namespace slm::eval {

using nlohmann::json;

namespace {

struct Endpoint {
  std::string scheme_host_port, path;  // "http://127.0.0.1:8080", "/v1/chat/completions"
};

Endpoint parse_url(const std::string& url, const std::string& flag) {
  std::smatch m;
  if (!std::regex_match(url, m, std::regex(R"((https?://[^/]+)(/.*)?)")))
    throw Error("expected an http:// or https:// URL such as http://127.0.0.1:8080/v1", flag + " " + url);
  std::string path = m[2].matched ? m[2].str() : "";
  while (!path.empty() && path.back() == '/') path.pop_back();
  return {m[1], path + "/chat/completions"};
}

// The cache: key -> reply, read once, appended to as replies come (one line each, so a
// crash loses at most the line being written).
class Cache {
 public:
  explicit Cache(std::string path) : path_(std::move(path)) {
    if (path_.empty() || !std::filesystem::exists(path_)) return;
    std::string text = read_file(path_);
    // A run killed mid-append leaves a last line without its newline: drop it (that prompt
    // is asked again) and rewrite the file, so the next append starts on a line of its own.
    if (!text.empty() && text.back() != '\n') {
      text.erase(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
      write_file_atomic(path_, text);
    }
    // Any other bad line is an error naming it: a cache that is not ours is not overwritten.
    for_each_jsonl_text(text, path_, [&](const json& j, const std::string& where) {
      map_[string_field(j, "key", where)] = string_field(j, "reply", where);
    });
  }
  std::optional<std::string> get(const std::string& key) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = map_.find(key);
    return it == map_.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  void put(const std::string& key, const std::string& reply) {
    if (path_.empty()) return;
    std::lock_guard<std::mutex> g(mu_);
    map_[key] = reply;
    std::ofstream(path_, std::ios::app) << json{{"key", key}, {"reply", reply}}.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  }

 private:
  std::string path_;
  std::mutex mu_;
  std::map<std::string, std::string> map_;
};

// The cache key: the model and prompt (as the judge has always keyed it), and the
// sampling settings when they are not the judge's.
std::string cache_key(const ChatClientOptions& opt, const ChatRequest& r) {
  std::string k = opt.model + "\n" + r.prompt;
  if (r.temperature != 0 || r.max_tokens != 0 || r.sample != 0)
    k += fmt::format("\n{}\n{}\n{}", r.temperature, r.max_tokens, r.sample);
  return fmt::format("{:016x}", hash64(k));
}

ChatReply ask_one(const Endpoint& ep, const ChatClientOptions& opt, const ChatRequest& r, Cache& cache,
                  const std::function<bool(const std::string&)>& usable) {
  const std::string key = cache_key(opt, r);
  if (auto hit = cache.get(key); hit && usable(*hit)) return {true, *hit, "", 0, true};
  httplib::Client cli(ep.scheme_host_port);
  cli.set_connection_timeout(std::chrono::seconds(10));
  cli.set_read_timeout(std::chrono::seconds(opt.timeout_s));
  httplib::Headers headers;
  if (!opt.api_key.empty()) headers.emplace("Authorization", "Bearer " + opt.api_key);
  json body = {{"model", opt.model}, {"temperature", r.temperature}, {"messages", {{{"role", "user"}, {"content", r.prompt}}}}};
  if (r.max_tokens > 0) body["max_tokens"] = r.max_tokens;
  if (r.sample > 0) body["seed"] = r.sample;
  ChatReply out;
  double wait = opt.backoff_s;
  for (int a = 1; a <= opt.attempts; ++a) {
    out.attempts = a;
    auto res = cli.Post(ep.path, headers, body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
    if (!res) {
      out.error = "no answer from " + ep.scheme_host_port + ": " + httplib::to_string(res.error());
    } else if (res->status == 429 || res->status >= 500) {
      out.error = fmt::format("{} answered HTTP {}", ep.scheme_host_port, res->status);
    } else if (res->status != 200) {
      out.error = fmt::format("{} answered HTTP {}: {}", ep.scheme_host_port, res->status, res->body.substr(0, 200));
      return out;  // 4xx other than 429: asking again will not help
    } else {
      auto j = json::parse(res->body, nullptr, false);
      if (!j.is_discarded() && j.contains("choices") && j["choices"].is_array() && !j["choices"].empty() &&
          j["choices"][0].contains("message") && j["choices"][0]["message"].contains("content") &&
          j["choices"][0]["message"]["content"].is_string()) {
        out.reply = j["choices"][0]["message"]["content"];
        if (usable(out.reply)) {
          out.ok = true;
          out.error.clear();
          cache.put(key, out.reply);
          return out;
        }
        out.error = "the reply is not in the asked format";
      } else {
        out.error = "the reply is not a chat completion (no choices[0].message.content)";
        out.reply = res->body.substr(0, 500);
      }
      continue;  // ask again at once: a malformed reply is not an overload
    }
    if (a < opt.attempts) {
      std::this_thread::sleep_for(std::chrono::duration<double>(wait));
      wait *= 2;
    }
  }
  return out;
}

}  // namespace

std::vector<ChatReply> ask_all(const std::vector<ChatRequest>& requests, const ChatClientOptions& opt,
                               const std::function<bool(const std::string&)>& usable, const std::string& label,
                               bool quiet) {
  if (opt.url.empty()) throw Error("no endpoint URL", opt.url_flag);
  if (opt.model.empty()) throw Error("no model name for the endpoint", opt.url_flag);
  const Endpoint ep = parse_url(opt.url, opt.url_flag);
  Cache cache(opt.cache_path);
  std::vector<ChatReply> out(requests.size());
  std::atomic<size_t> next{0}, done{0};
  Progress bar(label, double(requests.size()), "requests", quiet);
  std::mutex bar_mu;
  auto worker = [&] {
    for (size_t i; (i = next++) < requests.size();) {
      out[i] = ask_one(ep, opt, requests[i], cache, usable);
      std::lock_guard<std::mutex> g(bar_mu);
      bar.update(double(++done));
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, opt.concurrency); ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  bar.finish();
  return out;
}

}  // namespace slm::eval
