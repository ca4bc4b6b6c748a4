# Helpers shared by the scripts in tests/ecosystem/ (sourced, not run).
# shellcheck shell=bash

: "${eco_name:=ecosystem}" # each script sets its own name before sourcing this file
eco_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
eco_passed=0
eco_failed=0

say() { printf '%s: %s\n' "$eco_name" "$*"; }

pass() {
  eco_passed=$((eco_passed + 1))
  printf '  ok    %s\n' "$*"
}

fail() {
  eco_failed=$((eco_failed + 1))
  printf '  FAIL  %s\n' "$*"
}

# Stops at once: for a broken set-up, where further checks would say nothing.
die() {
  printf '%s: error: %s\n' "$eco_name" "$*" >&2
  exit 1
}

# The closing line ("N passed, N failed"), and the exit status that goes with it.
finish() {
  printf '%s: %d passed, %d failed\n' "$eco_name" "$eco_passed" "$eco_failed"
  ((eco_failed == 0))
}

# Installs the Debian packages given that are missing (as root, or through sudo), and nothing
# when all are there, so a second run neither needs the network nor touches apt.
need_packages() {
  local package status missing=()
  for package in "$@"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$package" 2>/dev/null || true)
    [[ $status == ii* ]] || missing+=("$package")
  done
  ((${#missing[@]} == 0)) && return 0
  say "installing ${missing[*]}"
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null || die "need root to install ${missing[*]}"
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q >/dev/null
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# The project's version, from the project() call of the top-level CMakeLists.txt.
project_version() {
  sed -n 's/^project(smem VERSION \([0-9][0-9.]*\).*/\1/p' "$eco_root/CMakeLists.txt"
}

# The options, commands and scenarios a help screen of smem lists, one per line: the first column
# of the lines under "Options:" ("  -s,--secret NAME=SOURCE ..." gives -s and --secret), and the
# names under "Subcommands:" and "Scenarios ...:".
help_words() { # FILE
  awk '
    /^[A-Za-z].*:$/ { section = $0; next }
    /^$/ { section = ""; next }
    section == "Options:" && /^ +-/ { n = split($1, names, ","); for (i = 1; i <= n; i++) print names[i] }
    section == "Subcommands:" && /^  [a-z]/ { print $1 }
    section ~ /^Scenarios/ && /^  [a-z_]+ / { print $1 }
  ' "$1"
}

# Writes the help of `smem COMMAND` (COMMAND may be empty) to FILE; fails, with a notice, when
# that command does not exist in this build (its --help fails or prints another command's help).
command_help() { # SMEM COMMAND FILE
  local label="smem${2:+ $2} --help" args=()
  [[ -n $2 ]] && args=("$2")
  if ! "$1" "${args[@]}" --help >"$3" 2>&1; then
    say "notice: '$label' fails; skipping it (a command this build does not have yet)"
    return 1
  fi
  if [[ -n $2 ]] && ! grep -q "^Usage: .*$2" "$3"; then
    say "notice: '$label' prints another command's help; skipping it (not in this build yet)"
    return 1
  fi
}
