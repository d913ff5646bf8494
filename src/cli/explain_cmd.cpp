// slm explain trace|patch|lens|attention: which layers and tokens a model relies on
// (causal tracing, activation patching, the logit lens, attention maps), as an HTML page
// of heat maps and the numbers as JSON.
#include <fmt/format.h>

#include <memory>

#include <nlohmann/json.hpp>

#include "cli/common.h"
#include "slm/data/corpus_text.h"
#include "slm/explain/line_swap.h"
#include "slm/explain/run.h"
#include "slm/model/model_files.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"

namespace slm::cli {

namespace {

struct ExplainArgs {
  explain::ExplainOptions o;
  explain::ExplainInput in;
  std::string prompts;  // trace: a JSONL file
  Common common;
};

// The flags every explain command takes.
CLI::App* add_explain_command(CLI::App* ex, const char* name, const char* what, std::shared_ptr<ExplainArgs> a) {
  auto* c = ex->add_subcommand(name, what);
  c->add_option("--model", a->o.model, "a model folder (config.json, model.safetensors, tokenizer.json) or a .gguf file")
      ->required()
      ->check(CLI::ExistingPath);
  c->add_option("--out", a->o.out, "the folder to write: index.html, result.json and the heat maps as .svg")->required();
  add_common(c, a->common);
  return c;
}

void add_answer_flags(CLI::App* c, std::shared_ptr<ExplainArgs> a) {
  c->add_option("--answer", a->in.answer, "the answer to follow, one token (default: the model's own prediction)");
  c->add_flag("--first-token", a->o.first_token, "score an answer of several tokens by its first token");
}

// slm explain swap: what one line of the documents is worth to the model (line_swap.h).
void add_swap_command(CLI::App* ex) {
  struct Args {
    std::string model, data, line = "Words:", out;
    int limit = 0;
    Common common;
  };
  auto a = std::make_shared<Args>();
  auto* c = ex->add_subcommand("swap", "What one line is worth: the loss after it, as written and swapped between documents");
  c->add_option("--model", a->model, "a model folder or a .gguf file")->required()->check(CLI::ExistingPath);
  c->add_option("--data", a->data, "documents: a JSONL or text file (e.g. a validation split of slm data import)")
      ->required()
      ->check(CLI::ExistingFile);
  c->add_option("--line", a->line, "the line to swap: the first one starting with this text")->capture_default_str();
  c->add_option("--limit", a->limit, "documents at most (0: all)")->capture_default_str()->check(CLI::NonNegativeNumber);
  c->add_option("--out", a->out, "also write the figures as JSON here");
  add_common(c, a->common);
  c->footer(
      "Examples:\n"
      "  slm explain swap --model runs/quickstart/pretrain/model --data runs/quickstart/data/val.jsonl\n"
      "  slm explain swap --model M --data val.jsonl --line 'Random sentence:'\n"
      "Near 0 nats a token: the model does not use the line yet (docs/explain.md, \"What a line is worth\").");
  c->callback([a] {
    auto loaded = model::load_model_and_tokenizer(a->model);
    std::vector<std::string> docs;
    data::for_each_document({a->data}, [&](std::string&& d) {
      if (a->limit == 0 || int(docs.size()) < a->limit) docs.push_back(std::move(d));
    });
    const explain::LineSwap r = explain::line_swap(*loaded.model, *loaded.tok, docs, a->line, a->common.seed, a->common.quiet);
    fmt::print("'{}' line: loss {:.4f} a token after it as written, {:.4f} with another document's; "
               "the line is worth {:.4f} nats a token ({} documents, {} tokens)\n",
               a->line, r.loss_written, r.loss_swapped, r.worth(), r.documents, r.tokens);
    if (r.without_line)
      fmt::print(stderr, "slm: note: left out {} document(s) without the line or text after it\n", r.without_line);
    if (r.past_context)
      fmt::print(stderr, "slm: note: left out {} document(s) whose text after the line starts past the model's context\n",
                 r.past_context);
    if (!a->out.empty()) {
      const nlohmann::json j = {{"model", a->model},          {"data", a->data},
                                {"line", a->line},            {"documents", r.documents},
                                {"without_line", r.without_line}, {"past_context", r.past_context},
                                {"tokens", r.tokens},         {"loss_written", r.loss_written},
                                {"loss_swapped", r.loss_swapped}, {"worth", r.worth()},
                                {"seed", a->common.seed}};
      write_file_atomic(a->out, j.dump(2) + "\n");
    }
  });
}

}  // namespace

void add_explain_commands(CLI::App& app) {
  auto* ex = app.add_subcommand("explain", "Which layers and tokens a model relies on: causal tracing, patching, logit lens, attention");
  ex->require_subcommand(1);

  auto t = std::make_shared<ExplainArgs>();
  auto* tr = add_explain_command(ex, "trace", "Causal tracing (ROME): corrupt the subject, restore one state at a time", t);
  tr->add_option("--prompt", t->in.prompt, "the prompt");
  tr->add_option("--subject", t->in.subject, "the words whose tokens are corrupted (default: the prompt's first word)");
  add_answer_flags(tr, t);
  tr->add_option("--prompts", t->prompts,
                 "a JSONL file of {\"prompt\", \"subject\", \"answer\"} lines: traces each and the average indirect effect")
      ->check(CLI::ExistingFile)
      ->excludes("--prompt");
  tr->add_option("--samples", t->o.trace.samples, "noise draws per restoration")->capture_default_str()->check(in_range(1, 1000));
  tr->add_option("--noise", t->o.trace.noise, "noise std in multiples of the embeddings' std")
      ->capture_default_str()
      ->check(in_range(0, 1000, Ends::open_low));
  tr->add_option("--window", t->o.trace.window, "layers restored together in the MLP and attention traces")
      ->capture_default_str()
      ->check(in_range(1, 10000));
  tr->footer(
      "Examples:\n"
      "  slm explain trace --model runs/quickstart/pretrain/model --prompt 'Lily has a red ball. Lily gives the ball to' "
      "--subject Lily --out trace-lily\n"
      "  slm explain trace --model M --prompts prompts.jsonl --out trace-avg\n"
      "Open trace-lily/index.html in a browser.");
  tr->callback([t] {
    t->o.trace.seed = t->common.seed;
    t->o.trace.quiet = t->common.quiet;
    std::vector<explain::ExplainInput> inputs;
    if (!t->prompts.empty()) inputs = explain::read_explain_prompts(t->prompts);
    else if (!t->in.prompt.empty()) inputs = {t->in};
    else throw Error("--prompt or --prompts: nothing to trace");
    const std::string summary = explain::run_trace(t->o, inputs);
    fmt::print("{}: {}\n", t->o.out, summary);
  });

  auto p = std::make_shared<ExplainArgs>();
  auto* pa = add_explain_command(ex, "patch", "Activation patching between a prompt and a counterfactual of the same length", p);
  pa->add_option("--prompt", p->in.prompt, "the clean prompt")->required();
  pa->add_option("--counterfactual", p->in.counterfactual, "the same prompt with one thing changed (a name, an object)")
      ->required();
  add_answer_flags(pa, p);
  pa->add_option("--cf-answer", p->in.cf_answer, "the counterfactual's answer (default: the model's prediction for it)");
  pa->footer(
      "Example:\n"
      "  slm explain patch --model M --prompt 'Lily has a ball. Lily gives the ball to' "
      "--counterfactual 'Lily has a ball. Tom gives the ball to' --out patch-names");
  pa->callback([p] { fmt::print("{}: {}\n", p->o.out, explain::run_patch(p->o, p->in)); });

  auto l = std::make_shared<ExplainArgs>();
  auto* le = add_explain_command(ex, "lens", "Logit lens: the tokens each layer's residual stream would predict", l);
  le->add_option("--prompt", l->in.prompt, "the prompt")->required();
  add_answer_flags(le, l);
  le->add_option("--top", l->o.top, "tokens listed per layer")->capture_default_str()->check(in_range(1, 100));
  le->footer("Example:\n  slm explain lens --model M --prompt 'Once upon a time, there was a little' --out lens");
  le->callback([l] { fmt::print("{}: {}\n", l->o.out, explain::run_lens(l->o, l->in)); });

  auto at = std::make_shared<ExplainArgs>();
  auto* am = add_explain_command(ex, "attention", "Attention maps of every layer and head for a prompt", at);
  am->add_option("--prompt", at->in.prompt, "the prompt")->required();
  am->footer("Example:\n  slm explain attention --model M --prompt 'Lily saw Tom. Lily waved at' --out attention");
  am->callback([at] { fmt::print("{}: {}\n", at->o.out, explain::run_attention(at->o, at->in)); });

  add_swap_command(ex);
}

}  // namespace slm::cli
