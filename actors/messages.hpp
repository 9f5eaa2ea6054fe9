#pragma once

#include <caf/all.hpp>

#include <string>

#include "config/errors.hpp"
#include "persistence/job.hpp"
#include "persistence/job_queue.hpp"
#include "persistence/job_store.hpp"

namespace jobserver::actors {

// Atoms (at most 10 characters each).
using create_atom = caf::atom_constant<caf::atom("create")>;
using start_atom = caf::atom_constant<caf::atom("start")>;
using claim_atom = caf::atom_constant<caf::atom("claim")>;
using wake_atom = caf::atom_constant<caf::atom("wake")>;
using beat_atom = caf::atom_constant<caf::atom("beat")>;
using run_atom = caf::atom_constant<caf::atom("run")>;
using progress_atom = caf::atom_constant<caf::atom("progress")>;
using finish_atom = caf::atom_constant<caf::atom("finish")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using lost_atom = caf::atom_constant<caf::atom("lost")>;
using retire_atom = caf::atom_constant<caf::atom("retire")>;
using reap_atom = caf::atom_constant<caf::atom("reap")>;
using reconc_atom = caf::atom_constant<caf::atom("reconcile")>;
using retain_atom = caf::atom_constant<caf::atom("retain")>;
using stalled_atom = caf::atom_constant<caf::atom("stalled")>;
using result_atom = caf::atom_constant<caf::atom("result")>;
using deadline_atom = caf::atom_constant<caf::atom("deadline")>;
using drain_atom = caf::atom_constant<caf::atom("drain")>;
using partial_atom = caf::atom_constant<caf::atom("partial")>;
using problem_atom = caf::atom_constant<caf::atom("problem")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using write_atom = caf::atom_constant<caf::atom("write")>;
// Cluster membership.
using hello_atom = caf::atom_constant<caf::atom("hello")>;
using mstatus_atom = caf::atom_constant<caf::atom("mstatus")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;
using cluster_atom = caf::atom_constant<caf::atom("cluster")>;
using nodedown_atom = caf::atom_constant<caf::atom("nodedown")>;
using alive_atom = caf::atom_constant<caf::atom("alive")>;
using handback_atom = caf::atom_constant<caf::atom("handback")>;

/// The error category of every `caf::error` the actors answer with.
constexpr caf::atom_value error_category = caf::atom("jobserver");

/// A `caf::error` carrying one of the project's codes and a human message.
caf::error make_error(errc code, std::string message);

/// The project error inside a `caf::error` (a timeout becomes `unavailable`).
app_error to_app_error(const caf::error& err);

/// Registers every message type; call on the config before constructing the system.
void register_message_types(caf::actor_system_config& cfg);

}  // namespace jobserver::actors
