#include "slm/eval/judge.h"

#include <regex>

#include <fmt/format.h>

#include "slm/util/error.h"

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

std::vector<Judgment> judge_stories(const std::vector<std::pair<std::string, std::string>>& stories,
                                    const JudgeOptions& opt, bool quiet) {
  if (opt.url.empty()) throw Error("no judge URL", "--judge-url");
  if (opt.model.empty()) throw Error("no judge model", "--judge-model");
  std::vector<ChatRequest> requests;
  for (const auto& [beginning, completion] : stories) requests.push_back({judge_prompt(beginning, completion)});
  auto replies = ask_all(requests, opt, [](const std::string& r) { return parse_judgment(r).has_value(); }, "judge",
                         quiet);
  std::vector<Judgment> out(stories.size());
  for (size_t i = 0; i < replies.size(); ++i) {
    const ChatReply& r = replies[i];
    if (r.ok) out[i] = *parse_judgment(r.reply);
    out[i].error = r.ok ? "" : r.error;
    out[i].reply = r.reply;
    out[i].attempts = r.attempts;
    out[i].cached = r.cached;
  }
  return out;
}

}  // namespace slm::eval
