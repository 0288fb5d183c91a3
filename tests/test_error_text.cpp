// Error messages are one line of valid UTF-8 whatever bytes the input held.
#include <doctest/doctest.h>

#include "core/error.h"
#include "core/json_io.h"
#include "graph/serialize.h"
#include "tests/test_serialize_cases.h"

using namespace xgrad;

TEST_CASE("printable: control and invalid UTF-8 bytes escaped, valid UTF-8 kept, idempotent") {
  CHECK(printable("plain text: [1, 2]") == "plain text: [1, 2]");
  CHECK(printable(std::string("a\nb\tc\x7f", 6)) == "a\\x0ab\\x09c\\x7f");
  CHECK(printable(std::string("nul\0!", 5)) == "nul\\x00!");
  CHECK(printable("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") ==
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  CHECK(printable("\xff\xfe") == "\\xff\\xfe");
  CHECK(printable("\xc3") == "\\xc3");                             // cut sequence
  CHECK(printable("\xc0\xaf") == "\\xc0\\xaf");                    // overlong '/'
  CHECK(printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");           // UTF-16 surrogate
  CHECK(printable("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  const std::string once = printable("x\x01\xff\xc3\xa9");
  CHECK(printable(once) == once);
  CHECK(std::string(Error("bad \x01 byte").what()) == "bad \\x01 byte");
}

TEST_CASE("a model file with invalid UTF-8 and control characters gives a clean message") {
  test::TempDir dir;
  const std::string bad_utf8 = dir.write("bad.json", "{\"format\": \"xgrad-model\", \"na\xffme\": 1}");
  const std::string msg = test::error_of([&] { load_model(bad_utf8); });
  CHECK(msg.find("bad.json") != std::string::npos);
  CHECK(msg == printable(msg));
  CHECK(msg.find('\xff') == std::string::npos);
  // A valid JSON name holding a newline and an escape character is echoed escaped.
  nlohmann::json j = test::valid_model();
  j["weights"]["w\n\x1b[31m"] = {{"shape", {1}}, {"data", {1}}};
  const std::string ctrl = dir.write("ctrl.json", j.dump());
  const std::string msg2 = test::error_of([&] { load_model(ctrl); });
  INFO(msg2);
  CHECK(msg2.find("weights.w\\x0a\\x1b[31m: the graph has no param") != std::string::npos);
}
