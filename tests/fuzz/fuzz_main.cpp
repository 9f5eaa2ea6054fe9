// libFuzzer's entry for one target: FUZZ_ENTRY names a function of targets.hpp.
#include "tests/fuzz/targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  jobserver::fuzz::FUZZ_ENTRY(data, size);
  return 0;
}
