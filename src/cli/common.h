#pragma once
// What every command shares: the flags --seed, --threads, --quiet, and how a command's
// work is run so that errors print one line and exit with the right code.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <string>

namespace slm::cli {

struct Common {
  uint64_t seed = 1;
  int threads = 0;  // 0: all cores
  bool quiet = false;
  int resolved_threads() const;
};

// Adds --seed, --threads and --quiet to a command.
void add_common(CLI::App* cmd, Common& c);

// Whether a range's ends are allowed values.
enum class Ends { closed, open_low, open_high };

// The one range check of every numeric flag: a finite number in [lo, hi] (an end left out
// by `ends`). CLI11 puts the flag's name before the message, so a bad value reads
// "--top-p: 1.5 is out of range: expected a number in (0, 1]" and exits 2. Unlike
// CLI::Range it refuses nan and inf, which compare false against both ends.
CLI::Validator in_range(double lo, double hi, Ends ends = Ends::closed);
// The upper end for counts (steps, stories, records): far beyond any real run, well
// inside int64 and exactly representable as a double.
inline constexpr double kMaxCount = 1e15;
// The upper end for a uint64 seed: a range check is needed even there, since CLI11 would
// wrap -1 into 2^64 - 1.
inline constexpr double kMaxSeed = 18446744073709551615.0;

// Each file of src/cli/ adds its commands here.
void add_data_commands(CLI::App& app);
void add_tokenizer_commands(CLI::App& app);
void add_train_commands(CLI::App& app);
void add_generate_commands(CLI::App& app);
void add_eval_commands(CLI::App& app);
void add_export_commands(CLI::App& app);
void add_serve_commands(CLI::App& app);
void add_quantize_commands(CLI::App& app);
void add_moe_commands(CLI::App& app);  // slm moe upcycle
void add_scaling_commands(CLI::App& app);  // slm scaling sweep, fit, holdout
void add_align_commands(CLI::App& app);
void add_distill_commands(CLI::App& app);
void add_lora_commands(CLI::App& app);
void add_merge_commands(CLI::App& app);  // slm merge
void add_self_instruct_commands(CLI::App& app);  // after add_data_commands: it joins `slm data`
void add_explain_commands(CLI::App& app);

}  // namespace slm::cli
