#include "slm/distill/self_instruct.h"

#include <algorithm>
#include <cctype>
#include <regex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "slm/distill/generate_data.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/jsonl.h"
#include "slm/util/rng.h"
#include "slm/util/rouge.h"

namespace slm::distill {

using nlohmann::json;

std::vector<SelfInstructTask> read_seed_tasks(const std::string& path) {
  std::vector<SelfInstructTask> out;
  for_each_jsonl(path, [&](const json& j, const std::string& where) {
    SelfInstructTask t;
    t.instruction = string_field(j, "instruction", where);
    if (!j.contains("instances") || !j["instances"].is_array() || j["instances"].empty() ||
        !j["instances"][0].is_object())
      throw Error("expected 'instances': a non-empty list of {\"input\", \"output\"}", where);
    const json& inst = j["instances"][0];
    if (inst.contains("input")) t.input = string_field(inst, "input", where + " instances[0]");
    t.output = string_field(inst, "output", where + " instances[0]");
    if (clean_reply(t.instruction).empty() || clean_reply(t.output).empty())
      throw Error("a seed task needs a non-empty instruction and output", where);
    out.push_back(std::move(t));
  });
  if (out.empty()) throw Error("no seed tasks", path);
  return out;
}

std::string self_instruct_prompt(const std::vector<SelfInstructTask>& examples) {
  std::string p =
      "You are asked to come up with a set of 20 diverse task instructions about simple stories for young children. "
      "These task instructions will be given to a small language model and we will evaluate the model for "
      "completing the instructions.\n\n"
      "Here are the requirements:\n"
      "1. Try not to repeat the verb for each instruction to maximize diversity.\n"
      "2. The language used for the instruction also should be diverse. For example, you should combine questions "
      "with imperative instructions.\n"
      "3. The type of instructions should be diverse: writing a story with given words or features, continuing a "
      "story, summarizing, answering questions about a story, finding the moral, changing the ending, and so on.\n"
      "4. Use only very simple words that a 3 to 5 year old child would understand.\n"
      "5. The instructions should be in English.\n"
      "6. The instructions should be 1 to 2 sentences long. Either an imperative sentence or a question is "
      "permitted.\n"
      "7. You should generate an appropriate input to the instruction when it needs one: a short story, a few "
      "sentences of a story, or a list of words. The input should involve realistic data and should not contain "
      "simple placeholders. Not all instructions require input; then simply put \"<noinput>\" in the input field.\n"
      "8. The input should not be longer than 150 words.\n"
      "9. The output should be an appropriate response to the instruction and the input, in simple words. Make sure "
      "the output is less than 150 words.\n\n"
      "List of 20 tasks:\n";
  static const std::regex spaces(R"(\s+)");
  for (size_t i = 0; i < examples.size(); ++i) {
    std::string ins = clean_reply(std::regex_replace(examples[i].instruction, spaces, " "));
    while (!ins.empty() && ins.back() == ':') ins.pop_back();
    p += fmt::format("###\n{0}. Instruction: {1}\n{0}. Input:\n{2}\n{0}. Output:\n{3}\n", i + 1, ins,
                     examples[i].input.empty() ? "<noinput>" : examples[i].input, examples[i].output);
  }
  return p + fmt::format("###\n{}. Instruction:", examples.size() + 1);
}

std::vector<SelfInstructTask> parse_self_instruct_reply(const std::string& reply, int first_number,
                                                        int64_t& invalid) {
  static const std::regex field(R"((\d+)\s*\.\s*(Instruction|Input|Output)\s*:)", std::regex::icase);
  // The prompt ends with "N. Instruction:"; a completion goes on from there, a chat reply
  // may start the list again.
  std::string text = reply;
  std::smatch m;
  if (!std::regex_search(text, m, field) || !clean_reply(text.substr(0, size_t(m.position(0)))).empty())
    text = fmt::format("{}. Instruction:", first_number) + text;
  std::vector<SelfInstructTask> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find("###", start);
    if (end == std::string::npos) end = text.size();
    const std::string block = text.substr(start, end - start);
    start = end + 3;
    if (clean_reply(block).empty()) continue;
    // Exactly Instruction, Input, Output, in order and of one number.
    std::vector<std::smatch> parts;
    for (auto it = std::sregex_iterator(block.begin(), block.end(), field); it != std::sregex_iterator(); ++it)
      parts.push_back(*it);
    auto kind = [&](size_t i) {
      std::string k = parts[i][2];
      std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return char(std::tolower(c)); });
      return k;
    };
    if (parts.size() != 3 || kind(0) != "instruction" || kind(1) != "input" || kind(2) != "output" ||
        parts[0][1] != parts[1][1] || parts[1][1] != parts[2][1]) {
      ++invalid;
      continue;
    }
    auto between = [&](size_t i) {
      const size_t b = size_t(parts[i].position(0) + parts[i].length(0));
      const size_t e = i + 1 < parts.size() ? size_t(parts[i + 1].position(0)) : block.size();
      return clean_reply(block.substr(b, e - b));
    };
    SelfInstructTask t{between(0), between(1), between(2)};
    std::string lower = t.input;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    if (lower == "<noinput>" || lower == "<no input>") t.input.clear();
    out.push_back(std::move(t));
  }
  return out;
}

std::string self_instruct_filter(const SelfInstructTask& t) {
  static const std::regex ws(R"(\S+)");
  const auto words = std::distance(std::sregex_iterator(t.instruction.begin(), t.instruction.end(), ws),
                                   std::sregex_iterator());
  if (words <= 3) return "instruction too short";
  if (words > 150) return "instruction too long";
  if (t.output.empty()) return "invalid";
  static const std::regex banned(
      R"(\b(image|images|graph|graphs|picture|pictures|file|files|map|maps|draw|plot|go to|video|audio|music|flowchart|diagram)\b)",
      std::regex::icase);
  if (std::regex_search(t.instruction, banned)) return "banned word";
  if (t.instruction.rfind("Write a program", 0) == 0) return "asks for a program";
  const unsigned char c0 = static_cast<unsigned char>(t.instruction[0]);
  if (std::ispunct(c0)) return "starts with punctuation";
  if (c0 >= 0x80) return "starts with a non-English letter";
  return "";
}

SelfInstructStats self_instruct(const SelfInstructOptions& o) {
  if (o.count < 1) throw Error("expected at least 1 task to make", "--count");
  if (o.examples_per_prompt < 1) throw Error("expected at least 1 example per prompt", "--examples");
  const auto seeds = read_seed_tasks(o.seed_tasks);
  eval::ChatClientOptions eo = o.endpoint;
  eo.url_flag = "--teacher-url";

  // Everything kept so far, seeds first, for the similarity filter.
  std::vector<std::vector<std::string>> kept_tokens;
  for (const auto& s : seeds) kept_tokens.push_back(rouge_tokens(s.instruction));
  std::vector<SelfInstructTask> made;
  SelfInstructStats st;
  Rng rng(o.seed);
  const int per_round = std::max(1, eo.concurrency);
  const int max_rounds = o.max_rounds > 0 ? o.max_rounds : int(10 + o.count / 2);
  const int k = std::min<int>(o.examples_per_prompt, int(seeds.size()));
  for (int round = 0; round < max_rounds && int64_t(made.size()) < o.count; ++round) {
    std::vector<eval::ChatRequest> reqs;
    for (int r = 0; r < per_round; ++r) {
      // k distinct seeds, drawn at random.
      std::vector<size_t> idx(seeds.size());
      for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
      std::vector<SelfInstructTask> ex;
      for (int i = 0; i < k; ++i) {
        std::swap(idx[size_t(i)], idx[size_t(i) + rng.below(uint32_t(idx.size() - size_t(i)))]);
        ex.push_back(seeds[idx[size_t(i)]]);
      }
      reqs.push_back({self_instruct_prompt(ex), o.temperature, o.max_tokens,
                      o.seed * 1000003 + uint64_t(round) * uint64_t(per_round) + uint64_t(r) + 1});
    }
    auto replies = eval::ask_all(reqs, eo, [](const std::string& s) { return !clean_reply(s).empty(); },
                                 fmt::format("self-instruct {}/{}", made.size(), o.count), o.quiet);
    st.requests += int64_t(reqs.size());
    for (const auto& rep : replies) {
      if (!rep.ok) {
        ++st.failed_requests;
        if (!o.quiet) fmt::print(stderr, "a request failed: {}\n", rep.error);
        continue;
      }
      int64_t invalid = 0;
      auto tasks = parse_self_instruct_reply(rep.reply, k + 1, invalid);
      st.candidates += int64_t(tasks.size()) + invalid;
      st.dropped["invalid"] += invalid;
      for (auto& t : tasks) {
        if (int64_t(made.size()) >= o.count) break;
        if (std::string why = self_instruct_filter(t); !why.empty()) {
          ++st.dropped[why];
          continue;
        }
        auto tok = rouge_tokens(t.instruction);
        bool similar = false;
        for (const auto& other : kept_tokens)
          if (rouge_l(tok, other) > o.rouge_threshold) {
            similar = true;
            break;
          }
        if (similar) {
          ++st.dropped["similar (ROUGE-L)"];
          continue;
        }
        kept_tokens.push_back(std::move(tok));
        made.push_back(std::move(t));
      }
    }
  }
  st.kept = int64_t(made.size());
  if (made.empty())
    throw Error(fmt::format("the teacher gave no usable task in {} requests ({} failed); nothing written", st.requests,
                            st.failed_requests),
                o.endpoint.url);
  json arr = json::array();
  for (const auto& t : made) arr.push_back({{"instruction", t.instruction}, {"input", t.input}, {"output", t.output}});
  write_file_atomic(o.out, arr.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
  return st;
}

}  // namespace slm::distill
