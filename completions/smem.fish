# fish completion for smem(1). Installed into fish's vendor_completions.d, loaded on the first
# <Tab> after `smem`.

# The smem command being completed (run, bench, doctor, help), or nothing before one is typed.
function __smem_command
    for token in (commandline -opc)[2..-1]
        if not string match -q -- '-*' $token
            echo $token
            return 0
        end
    end
    return 1
end

function __smem_needs_command
    not __smem_command >/dev/null
end

function __smem_using -a name
    set -l command (__smem_command)
    test "$command" = $name
end

# True once `smem run ... --` is before the cursor: what follows is the command's own line.
function __smem_after_dashdash
    __smem_using run; and contains -- -- (commandline -opc)
end

function __smem_run_options
    __smem_using run; and not __smem_after_dashdash
end

# The current token's value, without a leading --option= (fish hands that form to us whole).
function __smem_value
    string replace -r -- '^--[a-z-]+=' '' (commandline -ct)
end

# Names of the secrets defined with -s/--secret before the cursor.
function __smem_secret_names
    set -l tokens (commandline -opc)
    set -l i 2
    while test $i -le (count $tokens)
        set -l token $tokens[$i]
        set -l value
        test "$token" = --; and break
        switch $token
            case -s --secret
                set i (math $i + 1)
                test $i -le (count $tokens); and set value $tokens[$i]
            case '--secret=*'
                set value (string replace -- --secret= '' $token)
            case --fd --env --stdin --mask --timeout --max-size
                set i (math $i + 1)
            case '-s?*'
                set value (string sub -s 3 -- $token)
        end
        test -n "$value"; and string match -r -- '^[A-Za-z_][A-Za-z0-9_]*(?==|$)' $value
        set i (math $i + 1)
    end
end

# NAME=SOURCE for -s/--secret.
function __smem_complete_source
    set -l value (__smem_value)
    if string match -q -- '-s?*' $value
        set value (string sub -s 3 -- $value)
    end
    string match -qr -- '^(?<name>[A-Za-z0-9_]*)=(?<source>.*)$' $value; or return
    set -l prefix "$name="
    switch $source
        case 'env:*'
            for variable in (set --names --export)
                printf '%senv:%s\tenvironment variable\n' $prefix $variable
            end
        case 'file:*'
            for path in (__fish_complete_path (string sub -s 6 -- $source))
                printf '%sfile:%s\n' $prefix $path
            end
        case 'cmd:*'
            for command in (complete -C (string sub -s 5 -- $source))
                printf '%scmd:%s\n' $prefix $command
            end
        case 'random:*'
            set -l bytes (string split -f1 : -- (string sub -s 8 -- $source))
            test -n "$bytes"; or set bytes 32
            printf '%srandom:%s\t%s\n' $prefix $bytes 'raw random bytes' $prefix $bytes:hex 'hex digits' \
                $prefix $bytes:base64 base64
        case 'fd:*' 'prompt:*'
        case '*'
            printf '%s%s\t%s\n' \
                $prefix prompt 'ask on the terminal, echo off' \
                $prefix prompt: 'ask with this prompt text' \
                $prefix stdin 'all of standard input' \
                $prefix env: 'an environment variable (removed from the command'\''s)' \
                $prefix file: 'the bytes of a file' \
                $prefix fd: 'everything readable from an inherited descriptor' \
                $prefix cmd: 'the standard output of a shell command' \
                $prefix random: 'random bytes: random:32, random:32:hex, random:32:base64'
    end
end

# N=NAME[:memfd] for --fd.
function __smem_complete_fd
    set -l value (__smem_value)
    if string match -qr -- '^(?<fd>[0-9]+)=' $value
        for name in (__smem_secret_names)
            printf '%s=%s\t%s\n' $fd $name 'a pipe' $fd $name:memfd 'a sealed, re-readable memfd'
        end
    else
        set -l used
        set -l tokens (commandline -opc)
        for i in (seq (count $tokens))
            if test "$tokens[$i]" = --fd; and test $i -lt (count $tokens)
                set -a used (string split -f1 = -- $tokens[(math $i + 1)])
            else if string match -q -- '--fd=*' $tokens[$i]
                set -a used (string split -f2 = -- $tokens[$i])
            end
        end
        set -l n 3
        while contains -- $n $used
            set n (math $n + 1)
        end
        printf '%s=\t%s\n' $n 'descriptor number (>= 3), then =NAME'
    end
end

# VAR=NAME for --env.
function __smem_complete_env
    set -l value (__smem_value)
    if string match -qr -- '^(?<variable>[^=]*)=' $value
        for name in (__smem_secret_names)
            printf '%s=%s\n' $variable $name
        end
    else
        for name in (__smem_secret_names)
            printf '%s=%s\n' (string upper -- $name) $name
        end
    end
end

# After `--`: the command and its arguments, completed as if typed alone.
function __smem_complete_command
    set -l tokens (commandline -opc)
    set -l at (contains -i -- -- $tokens)
    set -l line (string escape -- $tokens[(math $at + 1)..-1]) (commandline -ct)
    complete -C (string join ' ' -- $line)
end

complete -c smem -e
complete -c smem -f

# smem [--help | --version] COMMAND
complete -c smem -n __smem_needs_command -s h -l help -d 'Print help and exit'
complete -c smem -n __smem_needs_command -l version -d 'Print the versions of smem and libsodium and the protection in use'
complete -c smem -n __smem_needs_command -a run -d 'Read secrets into protected memory and hand them to a command'
complete -c smem -n __smem_needs_command -a bench -d 'Run the performance scenarios'
complete -c smem -n __smem_needs_command -a doctor -d 'Show what protections this machine offers'
complete -c smem -n __smem_needs_command -a help -d 'Show the help of a command'

# smem help COMMAND
complete -c smem -n '__smem_using help; and test (count (commandline -opc)) -eq 2' -a 'run bench doctor help'

# smem run [OPTIONS] -- COMMAND [ARG...]
complete -c smem -n __smem_run_options -s h -l help -d 'Print the help of smem run and exit'
complete -c smem -n __smem_run_options -s s -l secret -x -a '(__smem_complete_source)' -d 'Define secret NAME from SOURCE'
complete -c smem -n __smem_run_options -l fd -x -a '(__smem_complete_fd)' -d 'Give the command descriptor N reading a secret'
complete -c smem -n __smem_run_options -l stdin -x -a '(__smem_secret_names)' -d 'Give the command a secret as its standard input'
complete -c smem -n __smem_run_options -l env -x -a '(__smem_complete_env)' -d 'Set an environment variable of the command to a secret'
complete -c smem -n __smem_run_options -l mask -x -a 'auto\t"when output is not a terminal (default)" always never' -d 'Mask secrets in the command\'s output'
complete -c smem -n __smem_run_options -l pristine -d 'Give the command only PATH, HOME, USER, LANG, TERM and the deliveries'
complete -c smem -n __smem_run_options -l timeout -x -d 'Send TERM after DURATION (30s, 500ms, 5m, 1h), KILL 5 s later'
complete -c smem -n __smem_run_options -s q -l quiet -d 'Do not warn about --env'
complete -c smem -n __smem_run_options -l trim -d 'Strip one trailing newline from every secret'
complete -c smem -n __smem_run_options -l max-size -x -d 'Largest secret accepted, in bytes (K, M, G suffixes); default 1M'
complete -c smem -n __smem_run_options -a '--' -d 'End of smem\'s options: the command follows'
complete -c smem -n __smem_after_dashdash -x -a '(__smem_complete_command)'

# smem bench [OPTIONS]
complete -c smem -n '__smem_using bench' -s h -l help -d 'Print the help of smem bench and exit'
complete -c smem -n '__smem_using bench' -l scenario -x -d 'Run only this scenario (repeatable)' -a '
    secret_with_bytes\t"with_bytes on an idle 32-byte secret"
    secret_with_bytes_func\t"with_bytes returning a value computed from the bytes"
    final_sequential\t"the final_parallel access loop on a single thread"
    final_parallel\t"all CPUs on one shared secret"
    alloc\t"create_random(32) alone"
    create_close\t"create_random(32) then close()"
    protect\t"what the guard adds to one access"
    cleanup\t"close() alone of an idle secret"
    concurrency\t"4, 8, 16 threads x 1000 accesses to one secret: wall time"
    mask_throughput\t"MB/s through the masker"
    run_overhead\t"smem run of /bin/true against /bin/true alone"
    floor_syscall\t"reference: one system call"
    floor_mprotect_pair\t"reference: a guard opening and closing (two mprotect calls)"
    floor_mprotect_parallel\t"reference: the mprotect pair from every CPU at once"
    floor_page_lifetime\t"reference: a guarded page from mmap to munmap"
    floor_copy\t"reference: memcpy throughput, beside mask_throughput"'
complete -c smem -n '__smem_using bench' -l quick -d 'Few samples: well under 30 s instead of a few minutes'
complete -c smem -n '__smem_using bench' -l json -d 'Print one JSON object instead of the table'
complete -c smem -n '__smem_using bench' -l save -r -F -d 'Write the results with their raw samples to FILE'
complete -c smem -n '__smem_using bench' -l compare -r -F -d 'Compare with results saved by --save'
complete -c smem -n '__smem_using bench' -l noise -x -d 'With --compare: changes below PERCENT (plus the floor drift) are within noise'
complete -c smem -n '__smem_using bench' -l backend -x -a 'automatic secretmem mlock' -d 'Backend to measure'
complete -c smem -n '__smem_using bench' -l guard -x -a 'automatic pkey mprotect none' -d 'Guard to measure'
complete -c smem -n '__smem_using bench' -l layout -x -a 'automatic isolated pooled' -d 'Layout to measure'
complete -c smem -n '__smem_using bench' -l matrix -d 'Run the main scenarios for every backend x guard x layout this machine offers'

# smem doctor [--json]
complete -c smem -n '__smem_using doctor' -s h -l help -d 'Print the help of smem doctor and exit'
complete -c smem -n '__smem_using doctor' -l json -d 'Print one JSON object instead of the table'
