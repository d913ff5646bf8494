#include "slm/infer/prompt_file.h"

#include <nlohmann/json.hpp>

#include "slm/infer/prompts.h"
#include "slm/util/atomic_file.h"
#include "slm/util/jsonl.h"

namespace slm::infer {

std::vector<std::string> read_prompts(const std::string& path) {
  std::vector<std::string> prompts;
  for_each_jsonl(path, [&](const nlohmann::json& r, const std::string& where) {
    prompts.push_back(string_field(r, "prompt", where));
  });
  return prompts;
}

void write_completions(const std::string& path, const std::vector<std::string>& prompts,
                       const std::vector<GenerateResult>& results) {
  std::string out;
  for (size_t i = 0; i < results.size(); ++i)
    // A completion cut at the token limit can end inside a UTF-8 character: such bytes
    // become U+FFFD rather than an error.
    out += nlohmann::json{{"prompt", prompts[i]}, {"completion", results[i].text},
                          {"tokens", results[i].generated_tokens}, {"finish", results[i].finish}}
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
           "\n";
  write_file_atomic(path, out);
}

std::vector<GenerateResult> generate_prompt_file(const model::Transformer<float>& m, const tokenizer::Tokenizer& tok,
                                                 const std::string& in_path, const std::string& out_path,
                                                 const GenerateOptions& opt, bool alpaca) {
  auto prompts = read_prompts(in_path);
  if (alpaca)
    for (auto& p : prompts) p = alpaca_prompt(p);
  auto results = generate_batch(m, tok, prompts, opt);
  write_completions(out_path, prompts, results);
  return results;
}

}  // namespace slm::infer
