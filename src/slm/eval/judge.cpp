#include "slm/eval/judge.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <thread>

#include <fmt/format.h>

#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/hash.h"
#include "slm/util/jsonl.h"
#include "slm/util/progress.h"

namespace slm::eval {

using nlohmann::json;

std::string judge_prompt(const std::string& beginning, const std::string& completion) {
  return "In the following exercise, the student is given a beginning of a story. The student needs to complete it "
         "into a full story. The exercise tests the student's language abilities and creativity. The symbol *** marks "
         "the separator between the prescribed beginning and the student's completion:\n\n" +
         beginning + "***" + completion +
         "\n\nPlease provide your general assessment about the part written by the student (the one after the *** "
         "symbol). Is it grammatically correct? Is it consistent with the beginning of the story? Pay special "
         "attention to whether the student manages to complete the sentence which is split in the middle by the "
         "separator ***.\n\nThen grade the student's completion in terms of grammar, creativity, consistency with the "
         "story's beginning and whether the plot makes sense, each from 1 to 10, and give your best guess of the age "
         "group of the student as reflected by the completion: A: 3 or under. B: 4-5. C: 6-7. D: 8-9. E: 10-12. F: "
         "13-16. End your answer with exactly these five lines:\nGrammar: N/10\nCreativity: N/10\nConsistency: "
         "N/10\nPlot: N/10\nAge group: X";
}

std::optional<Judgment> parse_judgment(const std::string& reply) {
  Judgment j;
  auto grade = [&](const char* name, int& dst) {
    std::regex re(std::string(name) + R"(\W{0,4}\s*(\d{1,2})\s*(/\s*10)?)", std::regex::icase);
    std::smatch m;
    // The last match: the grades come at the end, after any discussion.
    bool found = false;
    for (auto it = std::sregex_iterator(reply.begin(), reply.end(), re); it != std::sregex_iterator(); ++it) {
      dst = std::stoi((*it)[1]);
      found = true;
    }
    return found && dst >= 1 && dst <= 10;
  };
  if (!grade("grammar", j.grammar) || !grade("creativity", j.creativity) || !grade("consistency", j.consistency) ||
      !grade("plot", j.plot))
    return std::nullopt;
  std::regex age(R"(age\s*group\W{0,4}\s*\(?([A-Fa-f])\b)", std::regex::icase);
  std::string last;
  for (auto it = std::sregex_iterator(reply.begin(), reply.end(), age); it != std::sregex_iterator(); ++it)
    last = (*it)[1];
  if (last.empty()) return std::nullopt;
  j.age_group = std::string(1, char(std::toupper(static_cast<unsigned char>(last[0]))));
  j.ok = true;
  j.reply = reply;
  return j;
}

json judgment_json(const Judgment& j) {
  json o = {{"ok", j.ok}, {"attempts", j.attempts}, {"cached", j.cached}};
  if (j.ok) {
    o["grammar"] = j.grammar, o["creativity"] = j.creativity, o["consistency"] = j.consistency, o["plot"] = j.plot;
    o["age_group"] = j.age_group;
  } else {
    o["error"] = j.error;
  }
  o["reply"] = j.reply;
  return o;
}

namespace {

struct Endpoint {
  std::string scheme_host_port, path;  // "http://127.0.0.1:8080", "/v1/chat/completions"
};

Endpoint parse_url(const std::string& url) {
  std::smatch m;
  if (!std::regex_match(url, m, std::regex(R"((https?://[^/]+)(/.*)?)")))
    throw Error("expected an http:// or https:// URL such as http://127.0.0.1:8080/v1", "--judge-url " + url);
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
    // A run killed mid-append leaves a last line without its newline: drop it (that story
    // is judged again) and rewrite the file, so the next append starts on a line of its own.
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

Judgment judge_one(const Endpoint& ep, const JudgeOptions& opt, const std::string& prompt, Cache& cache) {
  const std::string key = fmt::format("{:016x}", hash64(opt.model + "\n" + prompt));
  if (auto hit = cache.get(key)) {
    if (auto j = parse_judgment(*hit)) {
      j->cached = true;
      return *j;
    }
  }
  httplib::Client cli(ep.scheme_host_port);
  cli.set_connection_timeout(std::chrono::seconds(10));
  cli.set_read_timeout(std::chrono::seconds(opt.timeout_s));
  httplib::Headers headers;
  if (!opt.api_key.empty()) headers.emplace("Authorization", "Bearer " + opt.api_key);
  json body = {{"model", opt.model}, {"temperature", 0}, {"messages", {{{"role", "user"}, {"content", prompt}}}}};
  Judgment out;
  double wait = opt.backoff_s;
  for (int a = 1; a <= opt.attempts; ++a) {
    out.attempts = a;
    auto res = cli.Post(ep.path, headers, body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
    bool retry_later = false;
    if (!res) {
      out.error = "no answer from the judge: " + httplib::to_string(res.error());
      retry_later = true;
    } else if (res->status == 429 || res->status >= 500) {
      out.error = fmt::format("the judge answered HTTP {}", res->status);
      retry_later = true;
    } else if (res->status != 200) {
      out.error = fmt::format("the judge answered HTTP {}: {}", res->status, res->body.substr(0, 200));
      return out;  // 4xx other than 429: asking again will not help
    } else {
      auto j = json::parse(res->body, nullptr, false);
      std::string reply;
      if (!j.is_discarded() && j.contains("choices") && j["choices"].is_array() && !j["choices"].empty() &&
          j["choices"][0].contains("message") && j["choices"][0]["message"].contains("content") &&
          j["choices"][0]["message"]["content"].is_string())
        reply = j["choices"][0]["message"]["content"];
      else {
        out.error = "the reply is not a chat completion (no choices[0].message.content)";
        out.reply = res->body.substr(0, 500);
        continue;
      }
      if (auto g = parse_judgment(reply)) {
        g->attempts = a;
        cache.put(key, reply);
        return *g;
      }
      out.error = "the reply has no grades in the asked format";
      out.reply = reply;
      continue;  // ask again at once: a malformed reply is not an overload
    }
    if (retry_later && a < opt.attempts) {
      std::this_thread::sleep_for(std::chrono::duration<double>(wait));
      wait *= 2;
    }
  }
  return out;
}

}  // namespace

std::vector<Judgment> judge_stories(const std::vector<std::pair<std::string, std::string>>& stories,
                                    const JudgeOptions& opt, bool quiet) {
  if (opt.url.empty()) throw Error("no judge URL", "--judge-url");
  if (opt.model.empty()) throw Error("no judge model", "--judge-model");
  const Endpoint ep = parse_url(opt.url);
  Cache cache(opt.cache_path);
  std::vector<Judgment> out(stories.size());
  std::atomic<size_t> next{0}, done{0};
  Progress bar("judge", double(stories.size()), "stories", quiet);
  std::mutex bar_mu;
  auto worker = [&] {
    for (size_t i; (i = next++) < stories.size();) {
      out[i] = judge_one(ep, opt, judge_prompt(stories[i].first, stories[i].second), cache);
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
