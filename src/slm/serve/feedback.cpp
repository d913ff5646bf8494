#include "slm/serve/feedback.h"

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "slm/serve/openai_api.h"
#include "slm/util/atomic_dir.h"
#include "slm/util/error.h"

namespace slm::serve {

using nlohmann::json;

double Rating::score() const {
  int sum = 0, n = 0;
  for (int s : {grammar, creativity, consistency, plot, age})
    if (s > 0) sum += s, ++n;
  return (n ? double(sum) / n : 0.0) + thumbs;
}

namespace {

json body_object(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw ApiError(400, "the request body is not a JSON object", "", "invalid_json");
  return j;
}

// A string field; "" when absent and not required. Throws ApiError naming the field.
std::string text_field(const json& j, const char* field, bool required) {
  if (!j.contains(field) || j[field].is_null()) {
    if (required) throw ApiError(400, std::string("'") + field + "' is required", field, "invalid_value");
    return std::string();
  }
  if (!j[field].is_string()) throw ApiError(400, std::string("'") + field + "' must be a string", field, "invalid_value");
  return j[field].get<std::string>();
}

}  // namespace

Rating parse_rating(const std::string& body) {
  const json j = body_object(body);
  auto text = [&](const char* field, bool required) { return text_field(j, field, required); };
  auto stars = [&](const char* field) {
    if (!j.contains(field) || j[field].is_null()) return 0;
    if (!j[field].is_number_integer() || j[field].get<int64_t>() < 1 || j[field].get<int64_t>() > 5)
      throw ApiError(400, std::string("'") + field + "' must be 1 to 5 stars", field, "invalid_value");
    return j[field].get<int>();
  };
  Rating r;
  r.rater = text("rater", false);
  r.model = text("model", false);
  r.prompt = text("prompt", true);
  r.story = text("story", true);
  r.edited = text("edited", false);
  r.grammar = stars("grammar");
  r.creativity = stars("creativity");
  r.consistency = stars("consistency");
  r.plot = stars("plot");
  r.age = stars("age_appropriate");
  const std::string thumbs = text("thumbs", false);
  if (thumbs != "" && thumbs != "up" && thumbs != "down")
    throw ApiError(400, "'thumbs' must be \"up\" or \"down\"", "thumbs", "invalid_value");
  r.thumbs = thumbs == "up" ? 1 : thumbs == "down" ? -1 : 0;
  return r;
}

ArenaPick parse_arena_pick(const std::string& body) {
  const json j = body_object(body);
  auto text = [&](const char* field, bool required) { return text_field(j, field, required); };
  ArenaPick p{text("prompt", true), text("model_a", false), text("story_a", true), text("model_b", false),
              text("story_b", true), text("winner", true), text("rater", false)};
  if (p.winner != "a" && p.winner != "b" && p.winner != "tie" && p.winner != "both_bad")
    throw ApiError(400, "'winner' must be \"a\", \"b\", \"tie\" or \"both_bad\"", "winner", "invalid_value");
  return p;
}

struct FeedbackStore::Impl {
  sqlite3* db = nullptr;
  std::string path;
  mutable std::mutex mu;

  // Closing here, not in ~FeedbackStore, also closes a file the constructor refused
  // (not a database, a newer schema): the half-built store is freed before the throw leaves.
  ~Impl() { sqlite3_close(db); }

  void exec(const char* sql) const {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string what = err ? err : "unknown error";
      sqlite3_free(err);
      throw Error("SQLite: " + what, path);
    }
  }
  [[noreturn]] void fail(const char* doing) const { throw Error(std::string(doing) + ": " + sqlite3_errmsg(db), path); }

  // Runs an insert of text columns then integer columns; returns the new row's id.
  int64_t insert(const char* sql, const std::vector<const std::string*>& texts, const std::vector<int>& ints) {
    std::lock_guard lock(mu);
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) fail("preparing an insert");
    int i = 1;
    for (const std::string* s : texts) sqlite3_bind_text(st, i++, s->data(), int(s->size()), SQLITE_TRANSIENT);
    for (int v : ints) sqlite3_bind_int(st, i++, v);
    const int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) fail("saving feedback");
    return sqlite3_last_insert_rowid(db);
  }

  // Calls row(stmt) for each row of a query.
  template <class F>
  void select(const char* sql, F row) const {
    std::lock_guard lock(mu);
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) fail("reading the feedback");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) row(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) fail("reading the feedback");
  }

  bool has_column(const char* table, const char* column) const {
    bool found = false;
    select((std::string("PRAGMA table_info(") + table + ")").c_str(), [&](sqlite3_stmt* st) {
      found = found || std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 1))) == column;
    });
    return found;
  }
};

namespace {

std::string column_text(sqlite3_stmt* st, int c) {
  const auto* t = sqlite3_column_text(st, c);
  return t ? std::string(reinterpret_cast<const char*>(t), size_t(sqlite3_column_bytes(st, c))) : std::string();
}

}  // namespace

FeedbackStore::FeedbackStore(const std::string& path) : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  if (sqlite3_open_v2(path.c_str(), &impl_->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string what = impl_->db ? sqlite3_errmsg(impl_->db) : "out of memory";
    throw Error("cannot open the feedback database: " + what, path);
  }
  sqlite3_busy_timeout(impl_->db, 5000);  // an export reading at the same time waits, not fails
  // WAL: readers do not block the server's writes; FULL: a commit is on disk when add() returns.
  impl_->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
  impl_->exec(
      "CREATE TABLE IF NOT EXISTS ratings (id INTEGER PRIMARY KEY, created INTEGER NOT NULL, model TEXT, "
      "prompt TEXT NOT NULL, story TEXT NOT NULL, edited TEXT, grammar INTEGER, creativity INTEGER, "
      "consistency INTEGER, plot INTEGER, age_appropriate INTEGER, thumbs INTEGER)");
  if (!impl_->has_column("ratings", "rater")) impl_->exec("ALTER TABLE ratings ADD COLUMN rater TEXT");  // older files
  impl_->exec(
      "CREATE TABLE IF NOT EXISTS arena (id INTEGER PRIMARY KEY, created INTEGER NOT NULL, rater TEXT, "
      "prompt TEXT NOT NULL, model_a TEXT, story_a TEXT NOT NULL, model_b TEXT, story_b TEXT NOT NULL, "
      "winner TEXT NOT NULL)");
}

FeedbackStore::~FeedbackStore() = default;

int64_t FeedbackStore::add(const Rating& r) {
  return impl_->insert(
      "INSERT INTO ratings (created, model, prompt, story, edited, rater, grammar, creativity, consistency, plot, "
      "age_appropriate, thumbs) VALUES (strftime('%s','now'), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {&r.model, &r.prompt, &r.story, &r.edited, &r.rater}, {r.grammar, r.creativity, r.consistency, r.plot, r.age, r.thumbs});
}

int64_t FeedbackStore::add(const ArenaPick& p) {
  return impl_->insert(
      "INSERT INTO arena (created, prompt, model_a, story_a, model_b, story_b, winner, rater) "
      "VALUES (strftime('%s','now'), ?, ?, ?, ?, ?, ?, ?)",
      {&p.prompt, &p.model_a, &p.story_a, &p.model_b, &p.story_b, &p.winner, &p.rater}, {});
}

std::vector<Rating> FeedbackStore::all() const {
  std::vector<Rating> out;
  impl_->select("SELECT model, prompt, story, edited, rater, grammar, creativity, consistency, plot, age_appropriate, "
                "thumbs FROM ratings ORDER BY id",
                [&](sqlite3_stmt* st) {
                  Rating r{column_text(st, 0), column_text(st, 1), column_text(st, 2), column_text(st, 3),
                           column_text(st, 4)};
                  r.grammar = sqlite3_column_int(st, 5), r.creativity = sqlite3_column_int(st, 6);
                  r.consistency = sqlite3_column_int(st, 7), r.plot = sqlite3_column_int(st, 8);
                  r.age = sqlite3_column_int(st, 9), r.thumbs = sqlite3_column_int(st, 10);
                  out.push_back(std::move(r));
                });
  return out;
}

std::vector<ArenaPick> FeedbackStore::arena() const {
  std::vector<ArenaPick> out;
  impl_->select("SELECT prompt, model_a, story_a, model_b, story_b, winner, rater FROM arena ORDER BY id",
                [&](sqlite3_stmt* st) {
                  ArenaPick p;
                  for (auto [c, f] : {std::pair{0, &p.prompt}, {1, &p.model_a}, {2, &p.story_a}, {3, &p.model_b},
                                      {4, &p.story_b}, {5, &p.winner}, {6, &p.rater}})
                    *f = column_text(st, c);
                  out.push_back(std::move(p));
                });
  return out;
}

ExportCounts export_feedback(const std::string& db, const std::string& out_dir) {
  if (!std::filesystem::exists(db)) throw Error("no such feedback database", db);
  const FeedbackStore store(db);
  const std::vector<Rating> ratings = store.all();
  const std::vector<ArenaPick> arena = store.arena();
  ExportCounts n;
  n.ratings = ratings.size();
  n.arena = arena.size();
  AtomicDir dir(out_dir);
  std::ofstream sft(dir.file("sft.jsonl")), prefs(dir.file("preferences.jsonl"));
  auto line = [](std::ofstream& f, const json& j) { f << dump(j) << '\n'; };
  std::map<std::string, std::vector<const Rating*>> by_prompt;
  for (const auto& r : ratings) {
    if (!r.edited.empty() && r.edited != r.story) {
      line(sft, {{"instruction", r.prompt}, {"input", ""}, {"output", r.edited}}), ++n.sft;
      line(prefs, {{"prompt", r.prompt}, {"chosen", r.edited}, {"rejected", r.story}}), ++n.preferences;
    } else if (r.thumbs > 0 || r.score() - r.thumbs >= 4.0) {
      line(sft, {{"instruction", r.prompt}, {"input", ""}, {"output", r.story}}), ++n.sft;
    }
    const bool rated = r.thumbs != 0 || r.grammar + r.creativity + r.consistency + r.plot + r.age > 0;
    if (rated) by_prompt[r.prompt].push_back(&r);
  }
  for (const auto& [prompt, rs] : by_prompt)  // rating gaps between stories of one prompt
    for (size_t i = 0; i < rs.size(); ++i)
      for (size_t j = i + 1; j < rs.size(); ++j) {
        if (rs[i]->story == rs[j]->story || rs[i]->score() == rs[j]->score()) continue;
        const bool first = rs[i]->score() > rs[j]->score();
        line(prefs, {{"prompt", prompt},
                     {"chosen", (first ? rs[i] : rs[j])->story},
                     {"rejected", (first ? rs[j] : rs[i])->story}});
        ++n.preferences;
      }
  for (const auto& p : arena) {  // a pick of one story over the other; a tie says neither is better
    if (p.story_a == p.story_b || (p.winner != "a" && p.winner != "b")) continue;
    const bool a = p.winner == "a";
    line(prefs, {{"prompt", p.prompt}, {"chosen", a ? p.story_a : p.story_b}, {"rejected", a ? p.story_b : p.story_a}});
    ++n.preferences;
  }
  sft.close(), prefs.close();
  if (!sft || !prefs) throw Error("cannot write the export", out_dir);
  dir.commit();
  return n;
}

}  // namespace slm::serve
