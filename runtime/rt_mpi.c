/*
 * rt_mpi.c — the MPI side of data-parallel training: MPI_Init and the
 * collective hooks of RtDistributed (runtime/rt_dist.c uses them). Built
 * into libnncrt_mpi.a, which only `nnc build --mpi` links (with libmpi), so
 * a program built without --mpi has no MPI in it.
 *
 * Faults: MPI_COMM_WORLD keeps MPI_ERRORS_ARE_FATAL, so a failed collective
 * ends the job. A rank that exits before the run's end (rt_die, or a return
 * from main without finalize) says so, naming itself, and MPI_Abort ends
 * every rank; one killed by a signal is reported by mpirun ("process rank N
 * ... exited on signal ..."), which then ends the others. Checkpoints are
 * written by rank 0 through a temporary file and a rename, so a job ended
 * at any point leaves the last complete one.
 */
#include "nnc_runtime.h"

#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static RtDistributed dist;
static int finalized;

/* MPI counts are ints: a block of more than INT_MAX values goes in pieces. */
static void sum_in_place(void *x, size_t n, MPI_Datatype type, size_t size) {
  for (size_t done = 0; done < n;) {
    int count = n - done > INT_MAX ? INT_MAX : (int)(n - done);
    MPI_Allreduce(MPI_IN_PLACE, (char *)x + done * size, count, type, MPI_SUM, MPI_COMM_WORLD);
    done += (size_t)count;
  }
}

static void sum_floats(float *x, size_t n) { sum_in_place(x, n, MPI_FLOAT, sizeof *x); }

static void sum_doubles(double *x, size_t n) { sum_in_place(x, n, MPI_DOUBLE, sizeof *x); }

/* The nonblocking sums in flight (MPI_Iallreduce), waited for together. */
static MPI_Request *requests;
static int n_requests, max_requests;

static void start_sum_floats(float *x, size_t n) {
  for (size_t done = 0; done < n;) {
    int count = n - done > INT_MAX ? INT_MAX : (int)(n - done);
    if (n_requests == max_requests) {
      max_requests = max_requests ? 2 * max_requests : 16;
      MPI_Request *grown = realloc(requests, sizeof *requests * (size_t)max_requests);
      if (!grown)
        rt_die("out of memory for %d allreduce requests", max_requests);
      requests = grown;
    }
    MPI_Iallreduce(MPI_IN_PLACE, x + done, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                   &requests[n_requests++]);
    done += (size_t)count;
  }
}

/* Open MPI progresses nonblocking collectives inside MPI calls only: a
 * test now and then while backward runs moves the started buckets along. */
static void poll_sums(void) {
  int done;
  if (n_requests)
    MPI_Testall(n_requests, requests, &done, MPI_STATUSES_IGNORE);
}

static void wait_sums(void) {
  MPI_Waitall(n_requests, requests, MPI_STATUSES_IGNORE);
  n_requests = 0;
}

static void broadcast(void *x, size_t bytes) {
  for (size_t done = 0; done < bytes;) {
    int count = bytes - done > INT_MAX ? INT_MAX : (int)(bytes - done);
    MPI_Bcast((char *)x + done, count, MPI_BYTE, 0, MPI_COMM_WORLD);
    done += (size_t)count;
  }
}

static void finalize(void) {
  finalized = 1;
  free(requests);
  MPI_Finalize();
}

/* atexit: a rank leaving early would leave the others waiting in a
 * collective forever; end them all instead. */
static void abort_unless_finalized(void) {
  if (finalized)
    return;
  fflush(stdout);
  fprintf(stderr, "error: rank %d of %d stopped before the end of the run; ending every rank "
          "(the last checkpoint written stays as it was)\n", dist.rank, dist.size);
  MPI_Abort(MPI_COMM_WORLD, 1);
}

const RtDistributed *rt_mpi_init(int *argc, char ***argv) {
  int provided; /* MPI is called from the main thread only, outside OpenMP regions */
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &dist.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &dist.size);
  dist.sum_floats = sum_floats;
  dist.sum_doubles = sum_doubles;
  dist.broadcast = broadcast;
  dist.start_sum_floats = start_sum_floats;
  dist.wait_sums = wait_sums;
  dist.poll_sums = poll_sums;
  dist.finalize = finalize;
  atexit(abort_unless_finalized);
  return &dist;
}
