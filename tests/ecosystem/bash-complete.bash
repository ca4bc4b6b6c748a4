#!/usr/bin/env bash
# Prints what bash's programmable completion offers for command lines, one block per line:
#
#   BASH_COMPLETION_USER_DIR=DIR bash --norc --noprofile tests/ecosystem/bash-complete.bash LINE...
#
#   == LINE
#   candidate       (one per line, as the whole word it would make on the line)
#
# How: bash-completion is loaded and finds the completion for `smem` the way it does for a user,
# in DIR/completions/smem. For each LINE, COMP_LINE, COMP_POINT, COMP_WORDS and COMP_CWORD are
# set as readline sets them (words split at blanks and, within a word, around the characters of
# COMP_WORDBREAKS, runs of those characters making one word), the function that `complete -p
# smem` names is called as bash calls it (command, current word, previous word), and COMPREPLY
# is read. What is printed is the word a user would get: readline replaces the text after the
# last COMP_WORDBREAKS character of the word with the reply. LINEs hold no quotes.
# Not -u: bash-completion itself is not written for nounset.
set -o pipefail

# shellcheck source=/dev/null
source /usr/share/bash-completion/bash_completion
if declare -F _comp_load >/dev/null; then
  loader=_comp_load # bash-completion >= 2.12
else
  loader=__load_completion
fi
"$loader" smem || {
  echo "bash-complete: bash-completion found no completion for smem" >&2
  exit 1
}
spec=$(complete -p smem) || exit 1
function=${spec#*-F }
function=${function%% *}

# compopt only works while readline completes; record its requests instead.
compopt() { :; }

breaks=${COMP_WORDBREAKS//[[:space:]\"\']/}
for line in "$@"; do
  COMP_WORDS=()
  read -ra tokens <<<"$line"
  for token in "${tokens[@]}"; do
    while [[ -n $token ]]; do
      if [[ $breaks == *"${token:0:1}"* ]]; then
        word=${token%%[!"$breaks"]*}
      else
        word=${token%%["$breaks"]*}
      fi
      COMP_WORDS+=("$word")
      token=${token:${#word}}
    done
  done
  [[ $line == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE=$line
  COMP_POINT=${#line}
  COMPREPLY=()
  "$function" smem "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"

  # Readline replaces only the text after the last COMP_WORDBREAKS character of the word being
  # completed (not the whole COMP_WORDS element: after `--mask=` that element is "=", yet a
  # reply "auto" gives --mask=auto), so the word a user gets is that text's prefix + the reply.
  typed=${line##*[[:blank:]]}
  rest=${typed##*["$breaks"]}
  kept=${typed:0:${#typed}-${#rest}}
  echo "== $line"
  for reply in "${COMPREPLY[@]}"; do
    printf '%s%s\n' "$kept" "$reply"
  done | sort -u
done
