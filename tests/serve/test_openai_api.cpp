#include <gtest/gtest.h>

#include "slm/serve/openai_api.h"
#include "slm/serve/server.h"
#include "slm/serve/text_stream.h"

using namespace slm::serve;

namespace {

// The field a bad request is refused for (the test fails if it is accepted).
std::string refused_field(const std::string& body, bool chat = false) {
  try {
    parse_completion_request(body, chat);
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, 400) << body;
    return e.param;
  }
  ADD_FAILURE() << "accepted: " << body;
  return "";
}

}  // namespace

TEST(OpenAiApi, ReadsTheFieldsOfACompletion) {
  auto r = parse_completion_request(
      R"({"model":"m","prompt":["Once"],"max_tokens":7,"temperature":0,"top_p":0.5,"seed":3,"n":2,"stop":"\n",
          "stream":true,"stream_options":{"include_usage":true},"logprobs":null,"user":"ignored"})",
      false);
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.prompt, "Once");
  EXPECT_EQ(r.max_tokens.value(), 7);
  EXPECT_EQ(r.temperature, 0.f);
  EXPECT_EQ(r.top_p, 0.5f);
  EXPECT_EQ(r.seed.value(), 3u);
  EXPECT_EQ(r.n, 2);
  EXPECT_EQ(r.stop, std::vector<std::string>{"\n"});
  EXPECT_TRUE(r.stream && r.include_usage);
  auto c = parse_completion_request(
      R"({"messages":[{"role":"system","content":"be kind"},{"role":"user","content":[{"type":"text","text":"hi"}]}]})", true);
  ASSERT_EQ(c.messages.size(), 2u);
  EXPECT_EQ(c.messages[1].content, "hi");
  EXPECT_FALSE(c.max_tokens.has_value());
}

TEST(OpenAiApi, ABadFieldIsA400NamingIt) {
  EXPECT_EQ(refused_field(R"({"prompt":"x","temperature":3})"), "temperature");
  EXPECT_EQ(refused_field(R"({"prompt":"x","top_p":"high"})"), "top_p");
  EXPECT_EQ(refused_field(R"({"prompt":"x","max_tokens":-1})"), "max_tokens");
  EXPECT_EQ(refused_field(R"({"prompt":"x","n":0})"), "n");
  EXPECT_EQ(refused_field(R"({"prompt":"x","stop":["a","b","c","d","e"]})"), "stop");
  EXPECT_EQ(refused_field(R"({"prompt":"x","stream":"yes"})"), "stream");
  EXPECT_EQ(refused_field(R"({"prompt":"x","logprobs":6})"), "logprobs");
  EXPECT_EQ(refused_field(R"({"prompt":"x","logprobs":true})"), "logprobs");
  EXPECT_EQ(refused_field(R"({"messages":[{"role":"user","content":"x"}],"logprobs":true})", true), "logprobs");
  EXPECT_EQ(refused_field(R"({"prompt":[1,2,3]})"), "prompt");
  EXPECT_EQ(refused_field(R"({"temperature":1})"), "prompt");
  EXPECT_EQ(refused_field(R"({"model":5,"prompt":"x"})"), "model");
  EXPECT_EQ(refused_field(R"({"messages":[]})", true), "messages");
  EXPECT_EQ(refused_field(R"({"messages":[{"role":"robot","content":"x"}]})", true), "messages[0].role");
  EXPECT_EQ(refused_field(R"({"messages":[{"role":"user","content":7}]})", true), "messages[0].content");
  EXPECT_EQ(refused_field(R"({"prompt": )"), "");
  EXPECT_EQ(refused_field(R"([1])"), "");
}

TEST(OpenAiApi, ChatTurnsPairQuestionsWithReplies) {
  auto t = chat_turns({{"system", "s"}, {"user", "a"}, {"assistant", "b"}, {"user", "c"}});
  ASSERT_EQ(t.history.size(), 1u);
  EXPECT_EQ(t.history[0], std::make_pair(std::string("a"), std::string("b")));
  EXPECT_EQ(t.message, "c");
  EXPECT_THROW(chat_turns({{"user", "a"}, {"assistant", "b"}}), ApiError);
}

TEST(OpenAiApi, ErrorsAndChunksHaveOpenAisShape) {
  auto e = error_body(ApiError(404, "no such model", "model", "model_not_found"));
  EXPECT_EQ(e["error"]["message"], "no such model");
  EXPECT_EQ(e["error"]["type"], "invalid_request_error");
  EXPECT_EQ(e["error"]["param"], "model");
  EXPECT_EQ(e["error"]["code"], "model_not_found");
  CompletionRequest chat;
  chat.chat = true;
  auto first = stream_chunk(chat, "id", "m", 1, 0, "Hel", "", true);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(first["choices"][0]["delta"]["content"], "Hel");
  EXPECT_TRUE(first["choices"][0]["finish_reason"].is_null());
  auto last = stream_chunk(chat, "id", "m", 1, 0, "", "stop", false);
  EXPECT_TRUE(last["choices"][0]["delta"].empty());
  EXPECT_EQ(last["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(dump(nlohmann::json("a\xff")), "\"a\xEF\xBF\xBD\"") << "invalid UTF-8 becomes U+FFFD";
}

TEST(TextStream, HoldsBackAPossibleStopStringAndUnfinishedCharacters) {
  TextStream t({"THE END"});
  EXPECT_EQ(t.push("and so"), "and so");
  EXPECT_EQ(t.push(" THE"), " ") << "'THE' may begin the stop string";
  EXPECT_EQ(t.push(" EN"), "");
  EXPECT_EQ(t.push("D!"), "") << "the stop string and what follows are dropped";
  EXPECT_TRUE(t.stopped());
  TextStream u;
  EXPECT_EQ(u.push("caf\xC3"), "caf") << "half of 'é' waits for the rest";
  EXPECT_EQ(u.push("\xA9 \xE2\x9C"), "\xC3\xA9 ");
  EXPECT_EQ(u.push("\x93"), "\xE2\x9C\x93");
  EXPECT_EQ(u.push("\xE2"), "");
  EXPECT_EQ(u.flush(), "\xE2") << "at the end, whatever is left goes out";
  EXPECT_EQ(incomplete_utf8_tail("ab\x80\x80"), 0u) << "stray continuation bytes wait for nothing";
}

TEST(ModelSpec, NamesAModelByItsPath) {
  EXPECT_EQ(parse_model_spec("runs/q/finetune/model").name, "finetune");
  EXPECT_EQ(parse_model_spec("out/story.gguf").name, "story");
  auto named = parse_model_spec("big=runs/x/model");
  EXPECT_EQ(named.name, "big");
  EXPECT_EQ(named.path, "runs/x/model");
}

TEST(OpenAiApi, LogprobsInTheLegacyFormat) {
  EXPECT_EQ(parse_completion_request(R"({"prompt":"x","logprobs":2})", false).logprobs, 2);
  EXPECT_EQ(parse_completion_request(R"({"prompt":"x"})", false).logprobs, -1);
  // "é" is two bytes and one character; a token ending inside it shows its bytes.
  std::vector<TokenLogprob> lps(3);
  lps[0].token = "A", lps[0].offset = 0, lps[0].logprob = -0.5f, lps[0].top = {{"A", -0.5f}, {"B", -1.5f}};
  lps[1].token = "\xc3", lps[1].offset = 1;
  lps[2].token = "\xa9!", lps[2].offset = 2;
  const auto j = logprobs_json(lps, "A\xc3\xa9!", 10);
  EXPECT_EQ(j["tokens"], (nlohmann::json{"A", "bytes:\\xc3", "bytes:\\xa9\\x21"}));
  EXPECT_EQ(j["text_offset"], (nlohmann::json{10, 11, 12}));
  EXPECT_EQ(j["top_logprobs"][0], (nlohmann::json{{"A", -0.5}, {"B", -1.5}}));
  EXPECT_EQ(utf8_length("A\xc3\xa9!"), 3u);
  EXPECT_EQ(utf8_length("\xff\x80" "a"), 3u) << "each invalid byte is one character (U+FFFD)";
}
