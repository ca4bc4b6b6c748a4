#!/usr/bin/env zsh
# Prints what zsh's completion system offers for command lines, one block per line:
#
#   zsh -f tests/ecosystem/zsh-complete.zsh FPATH_DIR LINE...
#
#   == LINE
#   candidate        (one per line: $IPREFIX plus the match, as it would stand on the line)
#
# How: completion widgets only run inside the line editor, so an interactive `zsh -f -i` runs in
# a pseudo-terminal (zsh/zpty) with compinit loaded from FPATH_DIR. There, `compadd` is wrapped
# in a function that first asks the builtin which of its words match what is typed
# (`compadd -O`, which adds nothing) and appends them to a file, then calls the builtin as
# usual; the calls that only filter (-O, -A, -D) pass straight through. Each LINE is typed
# followed by <Tab>; ^U then clears the line and a `print` of an end marker into the same file
# runs. zle handles input in order, so the marker proves the completion finished, and this
# script waits for it (polling, draining the terminal output so the shell never blocks).
# SMEM_ZSH_COMPLETE_DEBUG=1 copies that terminal output to stderr.
emulate -L zsh
setopt err_exit no_unset

zmodload zsh/zpty zsh/datetime
local dir=$1
shift
local capture=$(mktemp "${TMPDIR:-/tmp}/smem-zsh-complete.XXXXXX")
trap 'zpty -d smem_z 2>/dev/null; rm -f $capture' EXIT

zpty smem_z 'TERM=dumb zsh -f -i'
# LISTMAX: never ask "do you wish to see all N possibilities?", which would eat the next keys.
zpty -w smem_z "PS1=''; RPS1=''; LISTMAX=1000000; unsetopt beep; unset zle_bracketed_paste"
zpty -w smem_z "fpath=(${(q)dir} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w smem_z "compadd() {
  if (( \${@[(I)-[OAD]*]} )); then builtin compadd \"\$@\"; return; fi
  local -a m; builtin compadd -O m \"\$@\"
  (( \$#m )) && print -rl -- \"\${IPREFIX}\"\${^m} >>${(q)capture}
  builtin compadd \"\$@\"
}"

local n=0 line chunk
local -F deadline
# Waits until the shell in the terminal has written marker $1 into the capture file.
await() {
  deadline=$(( EPOCHREALTIME + 20 ))
  while [[ "$(tail -n 1 $capture)" != "$1" ]]; do
    while zpty -rt smem_z chunk 2>/dev/null; do
      [[ -n ${SMEM_ZSH_COMPLETE_DEBUG:-} ]] && print -rn -- "$chunk" >&2
    done
    if (( EPOCHREALTIME > deadline )); then
      print -u2 "zsh-complete: no answer from zsh for: $2"
      exit 1
    fi
    sleep 0.05
  done
}

# zle discards what was typed before it first starts: wait for the setup to have run.
zpty -w smem_z "print -r -- @@ready@@ >>${(q)capture}"
await @@ready@@ setup
for line in "$@"; do
  (( ++n ))
  : >$capture
  zpty -w -n smem_z "$line"$'\t'
  zpty -w smem_z $'\C-u'"print -r -- @@done-$n@@ >>${(q)capture}"
  await @@done-$n@@ $line
  print -r -- "== $line"
  grep -v "^@@done-$n@@\$" $capture | sort -u || true
done
