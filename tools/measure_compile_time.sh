#!/usr/bin/env bash
# What including <respool/respool.hpp> costs a translation unit, over including only the standard headers the core
# includes itself (which a program using threads and chrono mostly pays anyway).
#
#   tools/measure_compile_time.sh [compiler...]        default: g++ clang++ (those found)
#   RUNS=20 tools/measure_compile_time.sh              compilations per translation unit (default 15)
#   PER_HEADER=1 tools/measure_compile_time.sh         also what each core header adds over the standard headers
#
# Each translation unit is compiled RUNS times, interleaved (baseline, respool, baseline, ...) so that a change in
# machine load hits both alike, after one unmeasured warm-up compile each. Reported: the median CPU time (user + sys)
# of the compiler, which a busy machine disturbs far less than wall time, and the ratio of the medians.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-15}
flags=(-std=c++20 -O0 -I"$root/include")
if (($# > 0)); then
    compilers=("$@")
else
    compilers=()
    for c in g++ clang++; do command -v "$c" >/dev/null && compilers+=("$c"); done
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The core's own headers are the ones the umbrella pulls in (never the adapter's); list them by asking the compiler.
mapfile -t core_headers < <("${compilers[0]}" "${flags[@]}" -MM -MT x "$root/include/respool/respool.hpp" |
    tr ' \\' '\n\n' | grep -F "$root/include/respool/" | xargs -n1 realpath | sort -u)
mapfile -t std_headers < <(grep -hoE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<[^>]+>' "${core_headers[@]}" |
    sed -E 's/.*<([^>]+)>.*/\1/' | grep -v '^respool/' | sort -u)

printf '#include <%s>\n' "${std_headers[@]}" >"$work/std_only.cpp"
echo '#include <respool/respool.hpp>' >"$work/respool.cpp"
cat >"$work/pool_used.cpp" <<'EOF'
#include <respool/respool.hpp>
struct Factory {
    int create() { return 1; }
};
int main() {
    respool::Pool<int, Factory> pool;
    auto lease = pool.acquire();
    auto stats = pool.stats();
    return *lease + static_cast<int>(stats.size);
}
EOF

# CPU seconds (user + sys) of one compilation of $2 by $1.
cpu_time() {
    local TIMEFORMAT='%3U %3S' t
    t=$({ time "$1" "${flags[@]}" -c "$2" -o /dev/null 2>"$work/errors" >/dev/null; } 2>&1) || {
        cat "$work/errors" >&2
        exit 1
    }
    awk -v t="$t" 'BEGIN { split(t, p, " "); printf "%.3f\n", p[1] + p[2] }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

ms() { awk -v s="$1" 'BEGIN { printf "%.0f", s * 1000 }'; }
delta_ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.0f", (a - b) * 1000 }'; }

echo "core headers: ${#core_headers[@]}; standard headers they include (${#std_headers[@]}): ${std_headers[*]}"
echo "flags: ${flags[*]:0:2}; $runs runs each; median CPU time (user + sys)"
echo
echo "| compiler | standard headers only | respool/respool.hpp | ratio | plus one Pool<int> used |"
echo "|---|---|---|---|---|"
for cxx in "${compilers[@]}"; do
    version=$("$cxx" --version | head -1)
    for tu in std_only respool pool_used; do cpu_time "$cxx" "$work/$tu.cpp" >/dev/null; done
    : >"$work/std_only.times"
    : >"$work/respool.times"
    : >"$work/pool_used.times"
    for ((i = 0; i < runs; i++)); do
        for tu in std_only respool pool_used; do cpu_time "$cxx" "$work/$tu.cpp" >>"$work/$tu.times"; done
    done
    base=$(median <"$work/std_only.times")
    with=$(median <"$work/respool.times")
    used=$(median <"$work/pool_used.times")
    ratio=$(awk -v a="$with" -v b="$base" 'BEGIN { printf "%.2f", a / b }')
    echo "| $version | $(ms "$base") ms | $(ms "$with") ms | ${ratio}x | $(ms "$used") ms |"

    if [[ ${PER_HEADER:-0} == 1 ]]; then
        # Each core header on top of the standard headers, against the standard headers alone measured alongside:
        # what parsing that header's own code (and the respool headers it includes) costs.
        for h in "${core_headers[@]}"; do
            rel=${h#"$root/include/"}
            { cat "$work/std_only.cpp"; echo "#include <$rel>"; } >"$work/one.cpp"
            cpu_time "$cxx" "$work/one.cpp" >/dev/null
            : >"$work/one.times"
            : >"$work/base.times"
            for ((i = 0; i < runs; i++)); do
                cpu_time "$cxx" "$work/std_only.cpp" >>"$work/base.times"
                cpu_time "$cxx" "$work/one.cpp" >>"$work/one.times"
            done
            one=$(median <"$work/one.times")
            b=$(median <"$work/base.times")
            echo "| ... + only $rel (and what it includes) | $(ms "$b") ms | $(delta_ms "$one" "$b") ms | | |"
        done
    fi
done
