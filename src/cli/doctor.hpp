// `smem doctor`: what protections this machine offers this user, and why not (SPEC 1.3).
#pragma once

#include <CLI/CLI.hpp>
#include <sys/resource.h>

namespace smem::cli {

struct DoctorArgs {
  bool json = false;
};

CLI::App* add_doctor_command(CLI::App& app, DoctorArgs& args);

// Prints the report; `core` is RLIMIT_CORE as smem found it, before hardening. Returns 0.
int run_doctor(const DoctorArgs& args, const rlimit& core);

} // namespace smem::cli
