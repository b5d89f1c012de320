#!/usr/bin/env bash
# test_completion.sh LEGACYGPU: `legacygpu completion bash` as bash uses it: the script is
# sourced, then completions are asked for as bash would (COMP_WORDS/COMP_CWORD) and the
# answers checked: commands, subcommands, options read from --help, option values.
set -uo pipefail
bin=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
ln -s "$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")" "$dir/legacygpu"
export PATH="$dir:$PATH"
legacygpu completion bash >"$dir/completion.bash" || { echo "FAIL: legacygpu completion bash" >&2; exit 1; }
legacygpu completion fish >/dev/null 2>&1
[ $? -eq 2 ] || { echo "FAIL: completion of an unknown shell must exit 2" >&2; exit 1; }
source "$dir/completion.bash"
complete -p legacygpu >/dev/null || { echo "FAIL: the script registers no completion for legacygpu" >&2; exit 1; }

status=0
# expect "WORDS..." "WANTED..." "UNWANTED...": completes the last word of WORDS.
expect() {
  local line=$1 want=$2 unwanted=${3:-}
  read -r -a COMP_WORDS <<<"$line"
  [[ $line == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _legacygpu
  local got=" ${COMPREPLY[*]} "
  for w in $want; do
    [[ $got == *" $w "* ]] || { echo "FAIL: '$line' completes to [${COMPREPLY[*]}], missing $w" >&2; status=1; }
  done
  for w in $unwanted; do
    [[ $got == *" $w "* ]] && { echo "FAIL: '$line' completes to [${COMPREPLY[*]}], with $w" >&2; status=1; }
  done
}
expect "legacygpu " "info run infer test-onnx serve cluster api worker task keygen completion"
expect "legacygpu wo" "worker" "task"
expect "legacygpu task " "submit list status result cancel"
expect "legacygpu cluster st" "start stop status strategy" "workers"
expect "legacygpu serve --tls" "--tls-cert --tls-key"
expect "legacygpu serve --cu" "--curve-secret --curve-allow"
expect "legacygpu worker start --coord" "--coordinator --coordinator-key"
expect "legacygpu task submit --pri" "--priority"
expect "legacygpu task submit --priority " "LOW NORMAL HIGH CRITICAL"
expect "legacygpu serve --strategy AD" "ADAPTIVE" "ROUND_ROBIN"
expect "legacygpu cluster status --ca" "--cacert"
[ $status -eq 0 ] && echo "PASS: bash completion"
exit $status
