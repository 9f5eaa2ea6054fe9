// Why there is no TSan stage in CI (docs/operations.md, "Hardening"): Debian's
// libcaf_core is not instrumented, so ThreadSanitizer does not see the happens-before of
// CAF's mailbox and scheduler. Build and run by hand:
//   g++ -std=c++17 -O1 -g -fsanitize=thread tests/sanitizers/tsan_caf_probe.cpp \
//       -o /tmp/tsan_caf_probe -lcaf_core -lpthread && /tmp/tsan_caf_probe
// Without suppressions every message hand-off (the spawn's init function, each message's
// contents, its deallocation) is reported as a race; with `race:libcaf_core.so` the
// reports go, and so does the real race below (two actors and a plain thread writing one
// global), because every actor access has CAF frames on its stack.
#include <caf/all.hpp>
using namespace caf;
long shared_counter = 0;
behavior bumper(event_based_actor*) {
  return {[](int n) { for (int i = 0; i < n; ++i) ++shared_counter; return 0; }};
}
void caf_main(actor_system& sys) {
  auto a = sys.spawn(bumper), b = sys.spawn(bumper);
  scoped_actor self{sys};
  for (int i = 0; i < 20; ++i) {
    self->send(a, 100000);
    self->send(b, 100000);
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  std::thread t([] { for (int i = 0; i < 100000; ++i) ++shared_counter; });  // a plain thread too
  t.join();
}
CAF_MAIN()
