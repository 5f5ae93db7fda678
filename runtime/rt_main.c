/*
 * rt_main.c — main of every generated program, its phases in order:
 * options, the model's storage bound (RtModel.bind), initial weights, data,
 * then either --gradcheck or training (fit, the weights to evaluate), and
 * the test report. Everything a phase
 * allocates is freed before the program returns. A PATH.tmp that a killed
 * save left beside the checkpoint is removed before training, and the run
 * gets its id (or, with --resume, takes the interrupted run's: rt_run_start).
 */
#include "nnc_runtime.h"

#include <stdlib.h>

/* fit, then the test report; the training data is freed before the test
 * split is read. Exits non-zero when terminate_on_nan stopped the run: a
 * result the run did not earn is not reported. */
static int train_and_evaluate(RtRun *run, RtDataset *train, RtDataset *val) {
  if (rt_is_root(run)) /* under mpirun, rank 0 alone writes files */
    rt_mkdir_p(run->opt.out_dir);
  if (rt_is_root(run) && rt_checkpoint_clean_stale(run->checkpoint_path))
    printf("note: removed %s.tmp, left by an interrupted save\n", run->checkpoint_path);
  rt_run_start(run);
  RtFitResult fr = rt_fit(run, train, val);
  rt_dist_finish(run); /* under mpirun: the gradient allreduce's buckets and waits */
  rt_dataset_free(train);
  rt_dataset_free(val);
  if (fr.stopped_on_nan)
    return 1;
  if (rt_is_root(run)) /* under mpirun, rank 0 restores the best weights (or saves the last) */
    rt_finish_training(run, &fr);
  rt_dist_sync_params(run); /* and every rank tests them on its shard of the test split */
  return rt_report(run, &fr);
}

int rt_main(RtModel *model, const RtFitConfig *config, int argc, char **argv) {
  rt_init(argv); /* threads and OpenBLAS kernels for this machine (may restart once) */
  if (rt_predict_requested(argc, argv)) /* --predict: no training (rt_predict.c) */
    return rt_predict_main(model, config, argc, argv);
  RtRun run;
  rt_run_init(&run, model, config);
  rt_options_parse(&run.opt, argc, argv, model->name);
  rt_run_set_out_dir(&run, run.opt.out_dir);
  const RtDistributed *dist = config->distributed ? config->distributed(&argc, &argv) : NULL;
  run.dist = dist; /* nnc build --mpi: this process is one rank of mpirun's */
  rt_dist_start(&run);
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (model->bind) /* the model's storage, from here on */
    model->bind(model);
  RtRng init_rng;
  rt_rng_seed(&init_rng, run.opt.seed);
  model->init_params(&init_rng);
  if (!run.opt.quiet)
    printf("threads: %d (OpenMP, idle threads spin %s times; OpenBLAS %s kernels)\n",
           rt_threads(), rt_idle_spin(), rt_blas_core());
  if (run.opt.evaluate) { /* the test report of a saved checkpoint, no training */
    int status = rt_evaluate_checkpoint(&run);
    rt_run_free(&run);
    if (dist)
      dist->finalize();
    return status;
  }
  RtDataset train, val;
  rt_prepare_data(&run, &train, &val);
  if (config->init_from) /* transfer learning: after init_params and adapt (rt_transfer.c) */
    rt_initialize_from(&run);
  rt_rng_seed(model->dropout_rng, run.opt.seed + 2); /* ranks > 0: per epoch (rt_dist.c) */
  if (model->augment_rng) /* a stream of its own: other models' runs are unchanged */
    rt_rng_seed(model->augment_rng, run.opt.seed + 3);
  int status = run.opt.gradcheck ? rt_gradcheck(&run, &train)
                                 : train_and_evaluate(&run, &train, &val);
  rt_dataset_free(&train); /* freeing twice is harmless: free zeroes the dataset */
  rt_dataset_free(&val);
  rt_run_free(&run);
  if (dist)
    dist->finalize();
  return status;
}
