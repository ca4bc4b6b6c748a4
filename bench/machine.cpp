#include "bench/machine.hpp"

#include <fstream>
#include <sstream>
#include <thread>

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace smem::bench {
namespace {

Json cpu_model()
{
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      if (const auto colon = line.find(':'); colon != std::string::npos) {
        const auto start = line.find_first_not_of(' ', colon + 1);
        return Json(start == std::string::npos ? std::string() : line.substr(start));
      }
    }
  }
  return Json(nullptr);
}

Json limit(rlim_t value)
{
  return value == RLIM_INFINITY ? Json(-1) : Json(static_cast<unsigned long long>(value));
}

std::string text_of(const Json& value, const std::string& fallback)
{
  return value.is_string() ? value.as_string() : fallback;
}

} // namespace

Json load_average()
{
  std::ifstream in("/proc/loadavg");
  double one = 0;
  double five = 0;
  double fifteen = 0;
  if (!(in >> one >> five >> fifteen)) {
    return Json(nullptr);
  }
  return Json::Array{one, five, fifteen};
}

Json machine_facts()
{
  Json facts = Json::Object{};
  facts.set("cpus", std::thread::hardware_concurrency());
  facts.set("cpu_model", cpu_model());
  utsname uts{};
  if (::uname(&uts) == 0) {
    facts.set("kernel", std::string(uts.sysname) + " " + uts.release);
    facts.set("arch", std::string(uts.machine));
  } else {
    facts.set("kernel", nullptr);
    facts.set("arch", nullptr);
  }
  facts.set("page_size", ::sysconf(_SC_PAGESIZE));
  rlimit memlock{};
  if (::getrlimit(RLIMIT_MEMLOCK, &memlock) == 0) {
    facts.set("memlock_soft", limit(memlock.rlim_cur));
    facts.set("memlock_hard", limit(memlock.rlim_max));
  } else {
    facts.set("memlock_soft", nullptr);
    facts.set("memlock_hard", nullptr);
  }
  facts.set("loadavg_start", load_average());
  return facts;
}

std::string machine_line(const Json& facts)
{
  std::ostringstream line;
  const Json* cpus = facts.find("cpus");
  line << (cpus != nullptr && cpus->is_number() ? std::to_string(static_cast<long long>(cpus->as_number()))
                                                : "?")
       << " CPUs";
  if (const Json* model = facts.find("cpu_model"); model != nullptr && model->is_string()) {
    line << " (" << model->as_string() << ")";
  }
  line << ", " << text_of(facts.find("kernel") ? *facts.find("kernel") : Json(), "unknown kernel") << " "
       << text_of(facts.find("arch") ? *facts.find("arch") : Json(), "");
  if (const Json* page = facts.find("page_size"); page != nullptr && page->is_number()) {
    line << ", page " << static_cast<long long>(page->as_number()) << " B";
  }
  return line.str();
}

} // namespace smem::bench
