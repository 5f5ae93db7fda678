# Sourced by the run_mpi_*_test.sh scripts: one Open MPI setup for all.
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
