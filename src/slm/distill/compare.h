#pragma once
// `slm distill compare`: the validation curves of several runs (a teacher, a student from
// scratch, distilled students) in one picture, and the figures that judge distillation:
// each run's last validation loss, and the share of the teacher's gain over the scratch
// student that a distilled student recovers,
//   recovered = (L_scratch - L_student) / (L_scratch - L_teacher),
// with the first run the teacher and the second the scratch student.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace slm::distill {

struct RunCurve {
  std::string name, dir;  // a label, and a run folder with metrics.jsonl
};

// Writes the SVG (atomically) and returns the figures: [{name, dir, params, steps,
// val_loss, recovered}]. Throws slm::Error naming a run without validation losses.
nlohmann::json compare_runs(const std::vector<RunCurve>& runs, const std::string& svg_path);

// The figures as a table for a terminal.
std::string compare_table(const nlohmann::json& figures);

}  // namespace slm::distill
