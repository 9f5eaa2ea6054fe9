#pragma once

#include <caf/all.hpp>

#include "actors/runtime.hpp"

namespace jobserver::actors {

/// The root actor of a node: spawns the status writer, tracker, creator, dispatcher and janitor,
/// monitors them, and restarts one that crashed (with a growing delay). On exit it stops
/// them all.
caf::actor spawn_node_supervisor(caf::actor_system& sys, runtime_ptr rt);

}  // namespace jobserver::actors
