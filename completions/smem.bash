# bash completion for smem(1)                                   -*- shell-script -*-
#
# Installed as `smem` in bash-completion's completionsdir, which loads it on the first <Tab> after
# `smem`; `source completions/smem.bash` works too. It needs bash 4.3; bash-completion is used
# when present (to complete the command after `--` with its own completion), never required.
#
# Words are taken from COMP_LINE rather than COMP_WORDS: bash splits COMP_WORDS at `=` and `:`
# (COMP_WORDBREAKS), and nearly every smem value is NAME=SOURCE or KIND:ARG. Candidates are
# built as whole words, then trimmed to the part readline replaces: the text after the last
# COMP_WORDBREAKS character, whatever COMP_WORDBREAKS holds.

_smem_split()
{
    # Splits $1 at unquoted blanks into _smem_words; quotes and backslashes stay in the words,
    # so a word's text is what was typed. An empty last word means the cursor follows a blank.
    # _smem_quote_at: where in the last word a quote opens that is still open, or -1.
    local line=$1 word="" quote="" c i
    _smem_words=()
    _smem_quote_at=-1
    for ((i = 0; i < ${#line}; i++)); do
        c=${line:i:1}
        if [[ -n $quote ]]; then
            word+=$c
            if [[ $quote == '"' && $c == "\\" ]]; then
                ((++i)) && word+=${line:i:1}
            elif [[ $c == "$quote" ]]; then
                quote=""
            fi
        elif [[ $c == [[:blank:]] ]]; then
            [[ -n $word ]] && _smem_words+=("$word")
            word=""
        else
            word+=$c
            if [[ $c == "\\" ]]; then
                ((++i)) && word+=${line:i:1}
            elif [[ $c == [\'\"] ]]; then
                quote=$c
                _smem_quote_at=$((${#word} - 1))
            fi
        fi
    done
    _smem_words+=("$word")
    [[ -n $quote ]] || _smem_quote_at=-1
}

_smem_dequote()
{
    # The text a shell would see for $1 (quotes and backslashes removed, nothing expanded).
    local in=$1 out="" quote="" c i
    for ((i = 0; i < ${#in}; i++)); do
        c=${in:i:1}
        if [[ $quote == "'" ]]; then
            [[ $c == "'" ]] && quote="" || out+=$c
        elif [[ $c == "\\" ]]; then
            ((++i)) && out+=${in:i:1}
        elif [[ $c == '"' ]]; then
            [[ $quote == '"' ]] && quote="" || quote='"'
        elif [[ $c == "'" && -z $quote ]]; then
            quote="'"
        else
            out+=$c
        fi
    done
    printf '%s' "$out"
}

_smem_add()
{
    # Adds each argument after $1 (a prefix) as a candidate: "$1$arg".
    local prefix=$1 arg
    shift
    for arg in "$@"; do
        _smem_cands+=("$prefix$arg")
    done
}

_smem_add_files()
{
    # Candidates $1 + each path completing $2 (typed text), quoted for the shell, directories
    # with a trailing slash.
    local prefix=$1 typed path q
    typed=$(_smem_dequote "$2")
    [[ $typed == "~"* ]] && typed=${HOME}${typed:1}
    local IFS=$'\n'
    for path in $(compgen -f -- "$typed"); do
        printf -v q '%q' "$path"
        if [[ -d $path ]]; then
            _smem_cands+=("$prefix$q/")
        else
            _smem_cands+=("$prefix$q")
        fi
    done
}

_smem_add_words()
{
    # Candidates $1 + each of the words, separated by newlines, in $2 (compgen output).
    local prefix=$1 w
    local IFS=$'\n'
    for w in $2; do
        _smem_cands+=("$prefix$w")
    done
}

_smem_secret_names()
{
    # Prints the names of the secrets defined with -s/--secret before the cursor.
    local i w v
    for ((i = 2; i < ${#_smem_words[@]} - 1; i++)); do
        w=${_smem_words[i]}
        [[ $w == -- ]] && break
        case $w in
            -s | --secret) v=${_smem_words[i + 1]} && ((i++)) ;;
            --secret=*) v=${w#--secret=} ;;
            -s*) v=${w#-s} ;;
            --fd | --env | --stdin | --mask | --timeout | --max-size) ((i++)) && continue ;;
            *) continue ;;
        esac
        v=$(_smem_dequote "$v")
        v=${v%%=*}
        [[ $v =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] && printf '%s\n' "$v"
    done
}

_smem_used()
{
    # True when option $1 appears before the cursor.
    local w
    for w in "${_smem_words[@]:1:${#_smem_words[@]}-2}"; do
        [[ $w == "$1" || $w == "$1="* ]] && return 0
    done
    return 1
}

_smem_free_fd()
{
    # The lowest descriptor >= 3 no --fd before the cursor uses.
    local used=" " i w n=3
    for ((i = 2; i < ${#_smem_words[@]} - 1; i++)); do
        w=${_smem_words[i]}
        if [[ $w == --fd ]]; then
            w=${_smem_words[i + 1]}
        elif [[ $w == --fd=* ]]; then
            w=${w#--fd=}
        else
            continue
        fi
        used+="${w%%=*} "
    done
    while [[ $used == *" $n "* ]]; do
        ((n++))
    done
    printf '%s' "$n"
}

_smem_source()
{
    # Candidates for NAME=SOURCE after $1 (the text before NAME, e.g. "--secret=").
    local prefix=$1 value=$2 name kind arg
    if [[ $value != *=* ]]; then
        return # a new name: nothing to offer
    fi
    name=${value%%=*}
    kind=${value#*=}
    prefix+="$name="
    case $kind in
        env:*) _smem_add_words "${prefix}env:" "$(compgen -e -- "${kind#env:}")" ;;
        file:*) _smem_add_files "${prefix}file:" "${kind#file:}" ;;
        cmd:*)
            arg=${kind#cmd:}
            [[ $arg != *[[:blank:]]* ]] && _smem_add_words "${prefix}cmd:" "$(compgen -c -- "$arg" | sort -u)"
            ;;
        random:*)
            arg=${kind#random:}
            arg=${arg%%:*}
            [[ -z $arg ]] && arg=32
            _smem_add "${prefix}random:" "$arg" "$arg:hex" "$arg:base64"
            ;;
        fd:*) _smem_add "${prefix}fd:" 3 4 5 6 7 8 9 ;;
        prompt:*) ;;
        *) _smem_add "$prefix" prompt prompt: stdin env: file: fd: cmd: random: ;;
    esac
}

_smem_run_value()
{
    # Candidates for the value of run's option $1 typed as $3 after the text $2.
    local option=$1 prefix=$2 value=$3 names name fd
    names=$(_smem_secret_names)
    case $option in
        -s | --secret) _smem_source "$prefix" "$value" ;;
        --fd)
            if [[ $value == *=* ]]; then
                fd=${value%%=*}
                for name in $names; do
                    _smem_add "$prefix$fd=" "$name" "$name:memfd"
                done
            else
                fd=$(_smem_free_fd)
                _smem_cands+=("$prefix$fd=")
            fi
            ;;
        --stdin) _smem_add_words "$prefix" "$names" ;;
        --env)
            if [[ $value == *=* ]]; then
                _smem_add_words "$prefix${value%%=*}=" "$names"
            else
                for name in $names; do
                    _smem_cands+=("$prefix${name^^}=$name")
                done
            fi
            ;;
        --mask) _smem_add "$prefix" auto always never ;;
    esac
}

_smem_options()
{
    # Offers the options in "$@" not yet used before the cursor (repeatable ones always).
    local o
    for o in "$@"; do
        case $o in
            -s | --secret | --fd | --env | --scenario | --) ;;
            -h | --help) _smem_used -h || _smem_used --help && continue ;;
            -q | --quiet) _smem_used -q || _smem_used --quiet && continue ;;
            *) _smem_used "$o" && continue ;;
        esac
        _smem_cands+=("$o")
    done
}

_smem_run()
{
    # $1: index of `run` in _smem_words.
    local start=$1 cur=${_smem_words[-1]} i w prev=""
    for ((i = start + 1; i < ${#_smem_words[@]} - 1; i++)); do
        w=${_smem_words[i]}
        if [[ -n $prev ]]; then
            prev=""
            continue
        fi
        case $w in
            --) _smem_command "$i" && return ;;
            -s | --secret | --fd | --stdin | --env | --mask | --timeout | --max-size) prev=$w ;;
        esac
    done
    if [[ -n $prev ]]; then
        _smem_run_value "$prev" "" "$cur"
        return
    fi
    case $cur in
        --secret=* | --fd=* | --stdin=* | --env=* | --mask=*)
            _smem_run_value "${cur%%=*}" "${cur%%=*}=" "${cur#*=}"
            ;;
        --timeout=* | --max-size=*) ;;
        -s?*) _smem_run_value -s -s "${cur#-s}" ;;
        *)
            _smem_options -h --help -s --secret --fd --stdin --env --mask --pristine --timeout \
                -q --quiet --trim --max-size --
            ;;
    esac
}

_smem_bench_value()
{
    local option=$1 prefix=$2 value=$3
    case $option in
        --scenario)
            _smem_add "$prefix" secret_with_bytes secret_with_bytes_func final_sequential \
                final_parallel alloc create_close protect cleanup concurrency mask_throughput run_overhead \
                floor_syscall floor_mprotect_pair floor_mprotect_parallel floor_page_lifetime floor_copy
            ;;
        --save) _smem_add_files "$prefix" "$value" ;;
        --compare) _smem_add_files "$prefix" "$value" ;;
        --backend) _smem_add "$prefix" automatic secretmem mlock ;;
        --guard) _smem_add "$prefix" automatic pkey mprotect none ;;
        --layout) _smem_add "$prefix" automatic isolated pooled ;;
    esac
}

_smem_bench()
{
    local start=$1 cur=${_smem_words[-1]} prev=${_smem_words[-2]}
    if ((${#_smem_words[@]} - 2 > start)); then
        case $prev in
            --scenario | --save | --compare | --noise | --backend | --guard | --layout)
                _smem_bench_value "$prev" "" "$cur"
                return
                ;;
        esac
    fi
    case $cur in
        --*=*) _smem_bench_value "${cur%%=*}" "${cur%%=*}=" "${cur#*=}" ;;
        *)
            _smem_options -h --help --scenario --quick --json --save --compare --noise --backend \
                --guard --layout --matrix
            ;;
    esac
}

_smem_command()
{
    # The command after `--` (word $1 of _smem_words), completed as if typed on its own line.
    local dashes=$1 i
    if declare -F _command_offset >/dev/null; then
        # COMP_WORDS is split at COMP_WORDBREAKS too: find the same `--` there, the first one
        # after the word `run`.
        local seen_run=""
        for ((i = 1; i < COMP_CWORD; i++)); do
            [[ -n $seen_run && ${COMP_WORDS[i]} == -- ]] && break
            [[ ${COMP_WORDS[i]} == run ]] && seen_run=1
        done
        if ((i < COMP_CWORD)); then
            _smem_delegated=1
            _command_offset $((i + 1))
            return 0
        fi
    fi
    if ((${#_smem_words[@]} - 1 == dashes + 1)); then
        _smem_add_words "" "$(compgen -c -- "${_smem_words[-1]}" | sort -u)"
    else
        _smem_add_files "" "${_smem_words[-1]}"
    fi
    return 0
}

_smem()
{
    local _smem_words=() _smem_cands=() _smem_delegated="" _smem_quote_at=-1
    _smem_split "${COMP_LINE:0:COMP_POINT}"
    local cur=${_smem_words[-1]} n=${#_smem_words[@]} i w command="" at=0
    for ((i = 1; i < n - 1; i++)); do
        w=${_smem_words[i]}
        if [[ $w != -* ]]; then
            command=$w
            at=$i
            break
        fi
    done
    case $command in
        "")
            if [[ $cur == -* ]]; then
                _smem_options -h --help --version
            else
                _smem_add "" run bench doctor help
            fi
            ;;
        run) _smem_run "$at" ;;
        bench) _smem_bench "$at" ;;
        doctor) _smem_options -h --help --json ;;
        help) ((n - 1 == at + 1)) && _smem_add "" run bench doctor help ;;
    esac
    [[ -n $_smem_delegated ]] && return 0

    # Keep the candidates that start with what was typed, trimmed to the text readline replaces:
    # what follows the last COMP_WORDBREAKS character (`=`, `:`...) of the word, or its opening
    # quote when a quote is still open.
    local breaks=${COMP_WORDBREAKS//[[:space:]\"\']/} word c keep
    if ((_smem_quote_at >= 0)); then
        word=${cur:_smem_quote_at+1}
    elif [[ -n $breaks ]]; then
        word=${cur##*["$breaks"]}
    else
        word=$cur
    fi
    keep=$((${#cur} - ${#word}))
    COMPREPLY=()
    for c in "${_smem_cands[@]}"; do
        [[ $c == "$cur"* ]] && COMPREPLY+=("${c:keep}")
    done
    if ((${#COMPREPLY[@]} == 1)) && [[ ${COMPREPLY[0]} == *[=:/] ]]; then
        compopt -o nospace 2>/dev/null
    fi
    return 0
}

complete -F _smem smem
