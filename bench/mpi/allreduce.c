/*
 * allreduce.c — the time of one MPI_Allreduce (sum, in place) of N floats,
 * the collective `nnc build --mpi` runs once per step on the gradient block
 * (N = the model's parameters). Rank 0 prints the mean of 100.
 *
 *   mpicc -O2 bench/mpi/allreduce.c -o allreduce
 *   mpirun -np 2 ./allreduce 235149        # Day 5's gradient block
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, n = argc > 1 ? atoi(argv[1]) : 235149;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  float *x = calloc((size_t)(n > 0 ? n : 1), sizeof *x);
  if (!x || n <= 0)
    MPI_Abort(MPI_COMM_WORLD, 1);
  MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); /* warm-up */
  double t0 = MPI_Wtime();
  for (int i = 0; i < 100; i++)
    MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0)
    printf("allreduce of %d floats (%.2f MB): %.3f ms\n", n, 4e-6 * n, (MPI_Wtime() - t0) * 10);
  free(x);
  MPI_Finalize();
  return 0;
}
