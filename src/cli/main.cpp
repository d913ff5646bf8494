// slm: from raw text to a small language model. This file only wires the commands; each
// command's flags are in its own file, and the work is done by the library (src/slm/).
#include <omp.h>

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "cli/common.h"
#include "slm/dist/comm.h"
#include "slm/tensor/blas_setup.h"
#include "slm/util/error.h"

namespace slm::cli {

int Common::resolved_threads() const {
  return threads > 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
}

CLI::Validator in_range(double lo, double hi, Ends ends) {
  const std::string shown = fmt::format("{}{}, {}{}", ends == Ends::open_low ? '(' : '[', lo, hi,
                                        ends == Ends::open_high ? ')' : ']');
  auto check = [=](std::string& text) -> std::string {
    double v = 0;
    if (!CLI::detail::lexical_cast(text, v) || !std::isfinite(v)) return "'" + text + "' is not a finite number";
    const bool low_ok = ends == Ends::open_low ? v > lo : v >= lo;
    const bool high_ok = ends == Ends::open_high ? v < hi : v <= hi;
    if (low_ok && high_ok) return {};
    return text + " is out of range: expected a number in " + shown;
  };
  return CLI::Validator(check, "in " + shown);
}

void add_common(CLI::App* cmd, Common& c) {  // c: filled in when the command line is parsed
  cmd->add_option("--seed", c.seed, "random seed (the same seed gives the same output)")
      ->capture_default_str()
      ->check(in_range(0, kMaxSeed));
  // Every command's OpenMP work (GEMMs, generation, evaluation) uses this many threads.
  cmd->add_option("--threads", c.threads, "worker threads (default: all cores)")
      ->check(in_range(0, 4096))
      ->each([](const std::string& v) {
        Common given;
        given.threads = std::atoi(v.c_str());
        omp_set_num_threads(given.resolved_threads());
      });
  cmd->add_flag("--quiet,-q", c.quiet, "no progress output");
}

}  // namespace slm::cli

int main(int argc, char** argv) {
  slm::tensor::ensure_fast_blas(argv);  // before any GEMM; see blas_setup.h
  CLI::App app{"slm: build a small language model from raw text, end to end.\n"
               "Stages: data -> tokenizer -> pack -> pretrain -> finetune -> eval.",
               "slm"};
  app.set_version_flag("--version", std::string("slm ") + SLM_VERSION);
  app.require_subcommand(1);
  app.footer("Run 'slm COMMAND --help' for a command's options and examples.");
  slm::cli::add_data_commands(app);
  slm::cli::add_tokenizer_commands(app);
  slm::cli::add_train_commands(app);
  slm::cli::add_generate_commands(app);
  slm::cli::add_eval_commands(app);
  slm::cli::add_export_commands(app);
  slm::cli::add_serve_commands(app);
  slm::cli::add_quantize_commands(app);
  slm::cli::add_moe_commands(app);
  slm::cli::add_align_commands(app);
  slm::cli::add_distill_commands(app);
  slm::cli::add_lora_commands(app);
  slm::cli::add_merge_commands(app);
  slm::cli::add_self_instruct_commands(app);
  slm::cli::add_explain_commands(app);
  slm::cli::add_scaling_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // A wrong command line: say so in our one-line form and exit 2.
    std::fprintf(stderr, "slm: error: %s (see --help)\n", e.what());
    return 2;
  } catch (const slm::Error& e) {
    // One rank of several: stop them all now, rather than let them wait for this one.
    if (slm::dist::in_parallel_run()) slm::dist::abort_all(e.message());
    std::fprintf(stderr, "slm: error: %s\n", e.message().c_str());
    return 1;
  } catch (const std::exception& e) {
    if (slm::dist::in_parallel_run()) slm::dist::abort_all(e.what());
    std::fprintf(stderr, "slm: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
