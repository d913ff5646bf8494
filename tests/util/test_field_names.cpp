// Unknown keys of a JSON record are refused with the nearest valid name, and only those.
#include <gtest/gtest.h>

#include "slm/util/error.h"
#include "slm/util/field_names.h"

using namespace slm;
using nlohmann::json;

namespace {

std::string refusal(const json& record) {
  try {
    refuse_unknown_fields(record, {"prompt", "subject", "answer"}, "p.jsonl:3");
  } catch (const Error& e) {
    return e.message();
  }
  return "";
}

}  // namespace

TEST(FieldNames, KnownFieldsPass) {
  EXPECT_EQ(refusal(json{{"prompt", "Once"}, {"subject", "Lily"}}), "");
  EXPECT_EQ(refusal(json::object()), "");
}

TEST(FieldNames, AnUnknownFieldIsNamedWithTheNearestOne) {
  EXPECT_EQ(refusal(json{{"prompt", "Once"}, {"subjct", "Lily"}}),
            "unknown field 'subjct'; did you mean 'subject'? (p.jsonl:3)");
  // Nothing near: no suggestion, still refused.
  EXPECT_EQ(refusal(json{{"prompt", "Once"}, {"temperature", 1}}), "unknown field 'temperature' (p.jsonl:3)");
}
