# Sourced by bench/mpi/overlap.sh and seeds.sh: a work directory removed
# at exit, one thread per process (sleeping while it waits), and mpirun's
# options (ranks may share cores; no binding, as the machine is shared).
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=passive
mpirun=(mpirun --oversubscribe --bind-to none -x OMP_NUM_THREADS -x OMP_WAIT_POLICY)
[ "$(id -u)" -eq 0 ] && mpirun+=(--allow-run-as-root)
load_line() {
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) on $(getconf _NPROCESSORS_ONLN) cores" \
       "at the end; other sessions were running"
}
