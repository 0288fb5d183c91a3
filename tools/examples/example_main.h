#pragma once
// The examples' main: runs `example(argc, argv)` and turns an error (a missing data directory, a bad
// argument) into one line on stderr and exit status 1 instead of an uncaught exception.
#include <cstdio>
#include <exception>

int example(int argc, char** argv);

int main(int argc, char** argv) {
  try {
    return example(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", argv[0], e.what());
    return 1;
  }
}
