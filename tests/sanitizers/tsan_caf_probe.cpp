// The self-check of the TSan stage of scripts/test.sh (docs/operations.md, "Hardening").
// Against Debian's libcaf_core, which is not instrumented, ThreadSanitizer does not see
// the happens-before of CAF's mailbox and scheduler: every message hand-off (the spawn's
// init function, each message's contents, its deallocation) is reported as a race, and
// the one suppression that silences them, `race:libcaf_core.so`, also hides the real race
// below (two actors and a plain thread writing one global), because every actor access
// has CAF frames on its stack. Against CAF built with -fsanitize=thread
// (scripts/caf-tsan.sh) the hand-offs are clean and the real race is reported; the stage
// checks exactly that before it runs the tests. By hand:
//   g++ -std=c++17 -O1 -g -fsanitize=thread -isystem .run/caf-tsan/include \
//       tests/sanitizers/tsan_caf_probe.cpp -o /tmp/tsan_caf_probe -L.run/caf-tsan/lib \
//       -Wl,-rpath,.run/caf-tsan/lib -lcaf_core -lpthread && /tmp/tsan_caf_probe
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
