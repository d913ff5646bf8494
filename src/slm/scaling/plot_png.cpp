#include "slm/scaling/plot_png.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "slm/util/atomic_file.h"

extern char** environ;

namespace slm::scaling {

namespace fs = std::filesystem;

namespace {

// Runs argv (the program found on PATH), its output discarded; the exit status, or -1 with
// errno_out set when it could not start.
int run_quietly(const std::vector<std::string>& args, int& errno_out) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  errno_out = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (errno_out != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return errno_out = errno, -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace

std::string svg_to_png(const std::string& svg, const std::string& converter) {
  const std::string png = fs::path(svg).replace_extension(".png").string();
  const std::string tmp = png + ".render-" + std::to_string(getpid());
  int err = 0;
  const int rc = run_quietly({converter, "--format", "png", "--output", tmp, svg}, err);
  std::string bytes;
  if (rc == 0 && fs::exists(tmp)) bytes = read_file(tmp);
  std::error_code ec;
  fs::remove(tmp, ec);
  if (rc < 0 && err == ENOENT)
    return converter + " was not found (install librsvg2-bin, as scripts/setup.sh does); the SVG charts are written";
  if (rc < 0) return "could not start " + converter + ": " + std::strerror(err);
  if (rc != 0) return converter + " failed on " + svg + " (exit status " + std::to_string(rc) + ")";
  if (bytes.size() < 8 || bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0)
    return converter + " wrote no PNG for " + svg;
  write_file_atomic(png, bytes);
  return "";
}

std::string svgs_to_png(const std::vector<std::string>& files, const std::string& converter) {
  for (const auto& f : files) {
    std::string why = svg_to_png(f, converter);
    if (!why.empty()) return why;
  }
  return "";
}

}  // namespace slm::scaling
