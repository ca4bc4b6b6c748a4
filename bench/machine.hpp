// The facts about the machine a benchmark ran on, for the "machine" object of `smem bench --json`
// and the header of its table: enough to tell two saved runs of different machines apart.
#pragma once

#include "bench/json.hpp"

#include <string>

namespace smem::bench {

// {"cpus", "cpu_model", "kernel", "arch", "page_size", "memlock_soft", "memlock_hard" (bytes,
// -1 = unlimited), "loadavg_start" ([1, 5, 15 minutes])}; a field that cannot be read is null.
Json machine_facts();

// The 1, 5 and 15 minute load averages as a JSON array, or null when /proc/loadavg is unreadable.
Json load_average();

// "2 CPUs (Intel(R) Xeon(R) Processor), Linux 6.1.0 x86_64, page 4096 B": one line for a table.
std::string machine_line(const Json& facts);

} // namespace smem::bench
