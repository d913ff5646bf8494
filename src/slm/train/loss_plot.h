#pragma once
// The loss curve as an SVG picture (any browser or image viewer shows it): training
// loss per step and validation loss at each evaluation, on a log-scaled loss axis.
#include <string>
#include <vector>

namespace slm::train {

struct CurvePoint {
  double step, loss;
};

// The train and validation losses of a run's metrics.jsonl (lines with "loss" and
// "val_loss" by "step"); nothing when the file is absent, unreadable lines skipped.
void read_loss_curves(const std::string& metrics_path, std::vector<CurvePoint>& train, std::vector<CurvePoint>& val);

// One line of a picture; dots mark its points (evaluations).
struct Curve {
  std::string name, color;
  std::vector<CurvePoint> points;
  double width = 2.0;
  bool dots = false;
};

// Several curves on one log-scaled loss axis, each named in the legend. Writes atomically.
void write_curves_svg(const std::string& path, const std::vector<Curve>& curves, const std::string& title);

// The train and validation curves of one run. Writes atomically.
void write_loss_svg(const std::string& path, const std::vector<CurvePoint>& train, const std::vector<CurvePoint>& val,
                    const std::string& title);

}  // namespace slm::train
