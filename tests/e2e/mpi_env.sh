# Sourced by the run_mpi_*_test.sh scripts (with $what, the test's name):
# a work directory removed at exit, fail, and one Open MPI setup for all.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL ($what): $*" >&2; exit 1; }
run() { # NAME COMMAND...: the output in NAME.txt, shown when the command fails
  local name=$1; shift
  "$@" > "$name.txt" 2>&1 || { cat "$name.txt"; fail "$name: exited $?"; }
}

# One thread per rank, sleeping while it waits: the ranks share the cores.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=passive
# containers often forbid the cross-memory attach of Open MPI's shared-memory transport
export OMPI_MCA_btl_vader_single_copy_mechanism=none
mpirun=(mpirun --oversubscribe)
[ "$(id -u)" -eq 0 ] && mpirun+=(--allow-run-as-root)

# history.csv of runs A and B: every column but the seconds within 1e-4 (or exactly: TOL=0)
same_history() {
  local tol=${3:-1e-4}
  paste -d, "$1" "$2" | tail -n +2 |
    awk -F, -v tol="$tol" '{ n = NF / 2; for (i = 2; i < n; i++) { d = $i - $(i + n); if (d < 0) d = -d;
               if (d > tol) { print "epoch " $1 ", column " i ": " $i " vs " $(i + n); bad = 1 } } }
             END { exit bad }'
}
