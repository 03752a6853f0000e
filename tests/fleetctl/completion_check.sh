#!/usr/bin/env bash
# tests/fleetctl/completion_check.sh FLEETCTL — the bash completion script loads, completes commands,
# subcommands and options, and offers no option that the command's --help does not document.
set -euo pipefail
F=${1:?usage: completion_check.sh FLEETCTL}
failed=0
script=$("$F" completion bash)
complete_words() { # the words of a command line, the last being completed
    bash --norc --noprofile -c '
        eval "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        _fleetctl; printf "%s\n" "${COMPREPLY[@]}"' _ "$script" "$@"
}
expect() { # description, expected word, command line words...
    local what=$1 want=$2; shift 2
    local got
    got=$(complete_words "$@")
    if grep -qx -- "$want" <<<"$got"; then echo "ok   $what"; else echo "FAIL $what: no '$want'"; failed=1; fi
}
expect "commands" group fleetctl ""
expect "commands by prefix" report fleetctl rep
expect "group subcommands" describe fleetctl group ""
expect "group reset options" --to-datetime fleetctl group reset g --to
expect "options after -b VALUE" --by-duration fleetctl -b h:1 group reset g --by
expect "-o values" json fleetctl dlq list -o ""
expect "dlq subcommands" retry fleetctl dlq r
expect "topic names" brainDecisions fleetctl replay --topic brainD
# Every option offered for a command is one its --help documents.
for cmd in "send" "replay" "group reset" "trace" "dlq list" "dlq retry" "report" "topics ensure" "editor" "storyboard"; do
    read -r -a words <<<"$cmd"
    help=$("$F" "${words[0]}" --help)
    for opt in $(complete_words fleetctl "${words[@]}" -- | grep '^--' || true); do
        case $opt in --bootstrap-server|--output|--timeout|--verbose|--help) continue ;; esac
        grep -q -- "$opt" <<<"$help" || { echo "FAIL $cmd: completion offers $opt, --help does not know it"; failed=1; }
    done
done
((failed == 0)) && echo "completion: all checks hold"
exit $failed
