# Installs the man page and the shell completions, and describes the Debian packages that
# `cpack -G DEB` builds. Included at the end of the top-level CMakeLists.txt, after the install
# rules of the binary and of libsmem.
#
#   cmake -S . -B build-deb -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr
#   cmake --build build-deb -j"$(nproc)"
#   (cd build-deb && cpack -G DEB)      # smem_<version>_<arch>.deb, libsmem-dev_<version>_<arch>.deb
#
# Two packages, as Debian splits a tool from a library's development files:
#   smem         the command, its man page and completions. The binary is a static PIE by
#                default, so dpkg-shlibdeps finds no shared library and Depends stays empty;
#                with -DSMEM_STATIC=OFF it lists libsodium, libfmt, libstdc++ and libc.
#   libsmem-dev  libsmem.a, <smem/...> headers, the CMake package and smem.pc. Whoever links
#                libsmem.a also links libsodium, and smemConfig.cmake and smem.pc find it through
#                pkg-config, so it Depends on libsodium-dev and pkg-config.
# Install rules belong to the component `smem` or `dev`; a rule without one would be left out of
# both packages (tests/ecosystem/package checks every expected file is in one).
include_guard(GLOBAL)
include(GNUInstallDirs)

# --- where each shell looks for completions ---------------------------------------------------
# Destinations are relative to the install prefix where possible, so that `cmake --install
# --prefix DIR` and CPack's staging both land in the right place.

# bash-completion's completionsdir, asked with its prefix and datadir replaced by ours, so the
# answer is relative to our prefix: on Debian share/bash-completion/completions, which
# bash-completion searches under every directory of XDG_DATA_DIRS.
function(_smem_bash_completion_dir out)
  set(dir "${CMAKE_INSTALL_DATADIR}/bash-completion/completions")
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_EXECUTABLE)
    execute_process(
      COMMAND ${PKG_CONFIG_EXECUTABLE} --define-variable=prefix=/smem-prefix
              --define-variable=datadir=${CMAKE_INSTALL_DATADIR} --variable=completionsdir bash-completion
      OUTPUT_VARIABLE asked OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE failed)
    string(REGEX REPLACE "^/smem-prefix/" "" asked "${asked}")
    if(NOT failed AND asked AND NOT IS_ABSOLUTE "${asked}")
      set(dir "${asked}")
    endif()
  endif()
  set(${out} "${dir}" PARENT_SCOPE)
endfunction()
_smem_bash_completion_dir(_smem_bash_default)

# Debian's zsh searches /usr/share/zsh/vendor-completions for packages and
# /usr/local/share/zsh/site-functions for local installs; upstream zsh uses site-functions.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr" AND EXISTS /etc/debian_version)
  set(_smem_zsh_default "${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions")
else()
  set(_smem_zsh_default "${CMAKE_INSTALL_DATADIR}/zsh/site-functions")
endif()

# Empty means the default above, recomputed at each configure (so a build directory later
# reconfigured for another prefix follows it); set one to choose a directory yourself.
set(SMEM_BASH_COMPLETION_DIR "" CACHE STRING
    "Where the bash completion goes (relative to the prefix, or absolute); empty: ${_smem_bash_default}")
set(SMEM_ZSH_COMPLETION_DIR "" CACHE STRING
    "Where the zsh completion goes (relative to the prefix, or absolute); empty: ${_smem_zsh_default}")
set(SMEM_FISH_COMPLETION_DIR "" CACHE STRING
    "Where the fish completion goes (relative to the prefix, or absolute); empty: share/fish/vendor_completions.d")
set(_smem_bash_dir "${_smem_bash_default}")
set(_smem_zsh_dir "${_smem_zsh_default}")
set(_smem_fish_dir "${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d")
foreach(shell bash zsh fish)
  string(TOUPPER ${shell} upper)
  if(SMEM_${upper}_COMPLETION_DIR)
    set(_smem_${shell}_dir "${SMEM_${upper}_COMPLETION_DIR}")
  endif()
endforeach()

# bash-completion loads completions/NAME when NAME is first completed: the file is `smem`.
install(FILES ${PROJECT_SOURCE_DIR}/completions/smem.bash RENAME smem
        DESTINATION ${_smem_bash_dir} COMPONENT smem)
install(FILES ${PROJECT_SOURCE_DIR}/completions/_smem
        DESTINATION ${_smem_zsh_dir} COMPONENT smem)
install(FILES ${PROJECT_SOURCE_DIR}/completions/smem.fish
        DESTINATION ${_smem_fish_dir} COMPONENT smem)

# --- man page ---------------------------------------------------------------------------------
# man/smem.1 is written by hand in roff and committed; Debian wants man pages gzipped, and
# `gzip -n` leaves out the name and time stamp so the package is reproducible.
find_program(SMEM_GZIP gzip)
mark_as_advanced(SMEM_GZIP)
if(SMEM_GZIP)
  set(_smem_man_page ${CMAKE_CURRENT_BINARY_DIR}/man/smem.1.gz)
  add_custom_command(
    OUTPUT ${_smem_man_page}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/man
    COMMAND ${CMAKE_COMMAND} -E copy ${PROJECT_SOURCE_DIR}/man/smem.1 ${CMAKE_CURRENT_BINARY_DIR}/man/smem.1
    COMMAND ${SMEM_GZIP} -9nf ${CMAKE_CURRENT_BINARY_DIR}/man/smem.1
    DEPENDS ${PROJECT_SOURCE_DIR}/man/smem.1
    COMMENT "Compressing the man page"
    VERBATIM)
  add_custom_target(smem_man ALL DEPENDS ${_smem_man_page})
else()
  set(_smem_man_page ${PROJECT_SOURCE_DIR}/man/smem.1)
endif()
install(FILES ${_smem_man_page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT smem)

# --- Debian packages (cpack -G DEB) -----------------------------------------------------------
set(SMEM_PACKAGE_MAINTAINER "smem maintainers <maintainers@users.noreply.r-seed-9d868954.example>"
    CACHE STRING "Maintainer field of the Debian packages")

set(CPACK_PACKAGE_NAME smem)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${SMEM_PACKAGE_MAINTAINER}")
set(CPACK_GENERATOR DEB)
# Debian packages install under /usr whatever the build's own prefix (see the check below).
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL smem dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${SMEM_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)

set(CPACK_DEBIAN_SMEM_PACKAGE_NAME smem)
set(CPACK_DEBIAN_SMEM_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_SMEM_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_SMEM_PACKAGE_DEPENDS "")
set(CPACK_DEBIAN_SMEM_PACKAGE_SUGGESTS "bash-completion")
# The first line is the synopsis; Debian wants the rest wrapped below 80 columns.
set(CPACK_DEBIAN_SMEM_DESCRIPTION
    "hold secrets in protected memory and hand them to a command
smem reads secrets (typed at a prompt, from standard input, the environment,
a file, a file descriptor, a secret manager's command, or random bytes)
straight into locked, non-dumpable memory, and hands them to a command on a
file descriptor, its standard input, a /dev/fd/N path in its arguments or an
environment variable: never through a file on disk or an argument list.
Secrets in the command's output are masked. smem doctor tells what this
machine protects against.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libsmem-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libsodium-dev (>= 1.0.18), pkg-config")
set(CPACK_DEBIAN_DEV_PACKAGE_SUGGESTS "smem")
set(CPACK_DEBIAN_DEV_DESCRIPTION
    "secure-buffer library for secrets in protected memory (development files)
libsmem keeps secrets in memory that is locked, never dumped, between guard
pages, unreadable at rest and wiped on close, on memfd_secret where the
kernel allows it. Every operation on a secret is safe from any number of
threads at once. This package holds the static library libsmem.a, the
<smem/smem.hpp> headers, a CMake package (find_package(smem), target
smem::smem) and a pkg-config file (smem.pc).")

# Read by cpack, per generator. A package built from a /usr/local configuration would put
# libsmem.a outside the multiarch directory and the zsh completion outside Debian's fpath: refuse
# it, while configuring and `cmake --install` stay free to use any prefix. Without
# dpkg-shlibdeps, CPackDeb would quietly leave Depends empty (wrong for -DSMEM_STATIC=OFF):
# refuse that too. And each package's synopsis is the first line of its own description:
# without the project-wide summary, which CPackDeb would otherwise put in front of both.
set(_smem_cpack_checks ${CMAKE_CURRENT_BINARY_DIR}/CPackSmemChecks.cmake)
file(CONFIGURE OUTPUT ${_smem_cpack_checks} CONTENT [[
if(CPACK_GENERATOR STREQUAL "DEB")
  if(NOT "@CMAKE_INSTALL_PREFIX@" STREQUAL "/usr")
    message(FATAL_ERROR "smem: a Debian package needs a build configured with "
                        "-DCMAKE_INSTALL_PREFIX=/usr (this one has @CMAKE_INSTALL_PREFIX@)")
  endif()
  find_program(SMEM_DPKG_SHLIBDEPS dpkg-shlibdeps)
  if(NOT SMEM_DPKG_SHLIBDEPS)
    message(FATAL_ERROR "smem: dpkg-shlibdeps computes the Depends line: apt-get install dpkg-dev")
  endif()
  set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "")
endif()
]] @ONLY)
set(CPACK_PROJECT_CONFIG_FILE ${_smem_cpack_checks})

include(CPack)
cpack_add_component(smem DISPLAY_NAME "smem command" DESCRIPTION "The smem command, its man page and completions")
cpack_add_component(dev DISPLAY_NAME "libsmem development files"
                    DESCRIPTION "libsmem.a, headers, CMake package and pkg-config file")
