# Sourced by the side-by-side benchmark scripts: what every number they print is measured on.
#   load                       the load averages (1, 5, 15 minutes)
#   machine_header PEAK_PROGRAM  prints the date, the commit, the CPU model and core count,
#                              the load, and the FMA peak that `PEAK_PROGRAM --peak` measures
#                              on 2 OpenMP threads (bench/fma_peak.h)
load() { cut -d' ' -f1-3 /proc/loadavg; }

machine_header() {
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), cajal $(git rev-parse --short HEAD 2>/dev/null)"
  echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load average before: $(load)"
  OMP_NUM_THREADS=2 "$1" --peak |
    awk '/peak_avx2/ { a = $3 } /peak_avx512/ { b = $3 } END { printf "FMA peak measured (2 threads): AVX2 %.0f GFLOP/s, AVX-512 %.0f GFLOP/s\n", a, b }'
}
