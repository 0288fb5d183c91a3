// run_in_child (core/isolate.h): what a crash, a hang, an exception and a clean run in the child
// report to the parent, and that the child's work stays in the child.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <thread>

#include "core/error.h"
#include "core/isolate.h"

using namespace xgrad;

TEST_CASE("run_in_child: a clean run or an exception is \"\", a crash or a hang says how the child ended") {
  int touched = 0;
  CHECK(run_in_child([&] { touched = 1; }).empty());
  CHECK(touched == 0);  // the child's memory is its own
  CHECK(run_in_child([] { throw Error("bad bytes"); }).empty());
  CHECK(run_in_child([] { std::abort(); }) == "killed by signal 6");
  CHECK_FALSE(run_in_child([] { std::raise(SIGSEGV); }).empty());  // a signal, or a sanitizer's exit
  CHECK(run_in_child([] { std::this_thread::sleep_for(std::chrono::seconds(30)); }, 1) ==
        "killed by signal 14");
}
