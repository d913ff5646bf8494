#include "slm/distill/generate_data.h"

#include <omp.h>

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "slm/infer/generate.h"
#include "slm/model/model_files.h"
#include "slm/stories/story.h"
#include "slm/tokenizer/chat_template.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/jsonl.h"
#include "slm/util/progress.h"

namespace slm::distill {

using nlohmann::json;

std::string clean_reply(const std::string& reply) {
  const auto b = reply.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = reply.find_last_not_of(" \t\r\n");
  return reply.substr(b, e - b + 1);
}

std::vector<InstructionRecord> read_instruction_records(const std::string& path) {
  std::vector<InstructionRecord> out;
  auto take = [&](const json& j, const std::string& where) {
    if (!j.is_object()) throw Error("expected a JSON object with an 'instruction'", where);
    InstructionRecord r;
    r.instruction = string_field(j, "instruction", where);
    if (j.contains("input") && !j["input"].is_null()) r.input = string_field(j, "input", where);
    if (clean_reply(r.instruction).empty()) throw Error("empty 'instruction'", where);
    out.push_back(std::move(r));
  };
  const std::string text = read_file(path);
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '[') {  // Alpaca's JSON array
    json arr = json::parse(text, nullptr, false);
    if (arr.is_discarded() || !arr.is_array()) throw Error("not valid JSON (expected an array of records)", path);
    for (size_t i = 0; i < arr.size(); ++i) take(arr[i], fmt::format("{}[{}]", path, i));
  } else {
    for_each_jsonl_text(text, path, take, false);
  }
  if (out.empty()) throw Error("no records", path);
  return out;
}

namespace {

// What the teacher is asked, and what a record keeps beside its reply.
struct Task {
  std::string prompt;  // as the teacher sees it (without a local model's template)
  std::string prefix;  // text that leads the kept story (a continued beginning)
  json record;         // the output record, without its text
  std::string text_field;
};

std::string first_sentence(const std::string& text) {
  const auto end = text.find_first_of(".!?");
  return end == std::string::npos ? text : text.substr(0, end + 1);
}

std::vector<Task> story_tasks(int64_t count, uint64_t seed, bool continue_beginnings) {
  stories::StoryGenerator gen;
  std::vector<Task> tasks;
  for (int64_t i = 0; i < count; ++i) {
    stories::Story s = gen.generate(seed, uint64_t(i));
    json features = json::array();
    for (auto f : s.plan.features) features.push_back(stories::feature_name(f));
    Task t;
    t.record = {{"instruction", {{"prompt", s.prompt}, {"words", s.words}, {"features", features}}}};
    t.text_field = "story";
    if (continue_beginnings) {
      t.prompt = t.prefix = first_sentence(s.text);
      t.record["instruction"]["prompt"] = t.prefix;
    } else {
      t.prompt = s.prompt;
    }
    tasks.push_back(std::move(t));
  }
  return tasks;
}

std::vector<Task> instruction_tasks(const std::string& path, int64_t count, bool for_endpoint) {
  std::vector<Task> tasks;
  for (auto& r : read_instruction_records(path)) {
    if (count > 0 && int64_t(tasks.size()) >= count) break;
    Task t;
    // A chat endpoint reads the instruction and its input as one message; a local model
    // gets Alpaca's template (added where it generates).
    t.prompt = for_endpoint && !r.input.empty() ? r.instruction + "\n\n" + r.input : r.instruction;
    t.record = {{"instruction", r.instruction}, {"input", r.input}};
    t.text_field = "output";
    tasks.push_back(std::move(t));
  }
  return tasks;
}

// Replies from a local model, batch by batch. Empty where the reply is unusable.
std::vector<std::string> local_replies(const GenerateDataOptions& o, const model::LoadedModel& t,
                                       const std::vector<Task>& tasks, bool instructions, int64_t& truncated) {
  const bool alpaca = t.alpaca_template;
  infer::GenerateOptions go;
  go.max_tokens = o.max_tokens;
  go.sampling.temperature = float(o.temperature);
  go.sampling.top_p = float(o.top_p);
  std::vector<std::string> prompts;
  for (size_t i = 0; i < tasks.size(); ++i) {
    const auto& task = tasks[i];
    if (instructions) {
      const auto& r = task.record;
      prompts.push_back(tokenizer::alpaca_prompt(r["instruction"], r["input"]));
    } else {
      prompts.push_back(alpaca ? tokenizer::alpaca_prompt(task.prompt) : task.prompt);
    }
  }
  std::vector<std::string> out(tasks.size());
  Progress bar("teacher", double(tasks.size()), instructions ? "records" : "stories", o.quiet);
  for (size_t b = 0; b < prompts.size(); b += size_t(o.batch)) {
    const size_t e = std::min(prompts.size(), b + size_t(o.batch));
    go.seed = o.seed * 1000003 + b;
    auto res = infer::generate_batch(*t.model, *t.tok, std::vector<std::string>(prompts.begin() + long(b), prompts.begin() + long(e)), go);
    for (size_t i = b; i < e; ++i) {
      // An answer cut by the token limit is not a whole answer: left out. A story cut
      // there is still the teacher's text: kept, and counted.
      const bool cut = res[i - b].finish == "length" || res[i - b].finish == "context";
      if (cut && instructions) continue;
      truncated += cut;
      out[i] = res[i - b].text;
    }
    bar.update(double(e));
  }
  bar.finish();
  return out;
}

}  // namespace

GenerateDataStats generate_data(const GenerateDataOptions& o) {
  omp_set_num_threads(std::max(1, o.threads));
  const bool endpoint = !o.endpoint.url.empty();
  if (endpoint == !o.teacher.empty()) throw Error("give exactly one teacher: a local model or an endpoint URL", "--teacher");
  const bool instructions = !o.instructions.empty();
  if (!instructions && o.count < 1) throw Error("stories mode needs --count of at least 1", "--count");
  if (o.batch < 1) throw Error("the batch must be at least 1", "--batch");

  model::LoadedModel local;
  if (!endpoint) local = model::load_model_and_tokenizer(o.teacher);
  const bool alpaca = endpoint || local.alpaca_template;
  std::vector<Task> tasks = instructions ? instruction_tasks(o.instructions, o.count, endpoint)
                                         : story_tasks(o.count, o.seed, !endpoint && !alpaca);
  GenerateDataStats st;
  std::vector<std::string> replies(tasks.size());
  std::string source;
  if (endpoint) {
    EndpointOptions eo = o.endpoint;
    eo.url_flag = "--teacher-url";
    std::vector<eval::ChatRequest> reqs;
    for (size_t i = 0; i < tasks.size(); ++i)
      reqs.push_back({tasks[i].prompt, o.temperature, o.max_tokens, o.temperature > 0 ? o.seed * 1000003 + i + 1 : 0});
    auto rs = eval::ask_all(reqs, eo, [](const std::string& r) { return !clean_reply(r).empty(); }, "teacher", o.quiet);
    for (size_t i = 0; i < rs.size(); ++i) {
      if (rs[i].ok) replies[i] = rs[i].reply;
      st.cached += rs[i].cached;
      if (!rs[i].ok && !o.quiet) fmt::print(stderr, "record {}: {}\n", i + 1, rs[i].error);
    }
    source = "teacher:" + eo.model;
  } else {
    replies = local_replies(o, local, tasks, instructions, st.truncated);
    source = "teacher:" + std::filesystem::path(o.teacher).filename().string();
  }

  std::string out;
  for (size_t i = 0; i < tasks.size(); ++i) {
    std::string text = clean_reply(replies[i]);
    if (text.empty()) {
      ++st.failed;
      continue;
    }
    json r = tasks[i].record;
    r[tasks[i].text_field] = tasks[i].prefix.empty() ? text : tasks[i].prefix + " " + text;
    if (!instructions) r["source"] = source;
    out += r.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    ++st.written;
  }
  if (st.written == 0)
    throw Error(fmt::format("the teacher gave no usable reply to any of {} prompts; nothing written", tasks.size()),
                endpoint ? o.endpoint.url : o.teacher);
  write_file_atomic(o.out, out);
  return st;
}

}  // namespace slm::distill
