/*
 * rt_resume.c — whose run this is, and where an interrupted one resumes.
 *
 * Run identity: every run draws a run id at start (UTC time, process id,
 * 32 random bits) and writes it, with the model's name and identity (the
 * compiler's hash of the compiled graph, RtModel.identity), to
 * out_dir/run.json and into every checkpoint it saves. A checkpoint is
 * loaded as this run's result only when all three match
 * (rt_checkpoint_check_owner), so a file left by an earlier run, or by
 * another version of the model, is refused by name instead of reported.
 *
 * Resume: at the end of every epoch (after its callbacks) rt_fit saves
 * out_dir/last.ckpt, atomically like every checkpoint: the model's
 * checkpoint tensors (parameters, statistics, optimizer slots), early
 * stopping's best weights, and the state words below. --resume loads it
 * and continues with the next epoch; as every random stream, counter and
 * monitor is restored, the rest of the run is the one the uninterrupted run
 * would have had, bit for bit (at the same thread count). history.csv and
 * the csv_logger are cut back to their length at that epoch, so rows of an
 * epoch that was interrupted are written again, once.
 *
 * State words (u64 each, in this order): tag, version, epoch, steps,
 * best_epoch, stopped, seed, learning rate (float bits), the shuffle and
 * dropout streams (4 words each), the checkpoint, early stopping and plateau
 * monitors (best as double bits, best_epoch, wait: 3 words each), the
 * plateau's cooldown_left, history.csv's and the csv_logger's lengths,
 * n_order, then the n_order example indices.
 */
#define _XOPEN_SOURCE 700 /* truncate */
#include "nnc_runtime.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STATE_TAG 0x4d55534552434e4eull /* "NNCRESUM" */
#define STATE_VERSION 1u
#define STATE_FIXED_WORDS 29 /* every word before the order */
#define BEST_PARAMS_NAME "early_stopping/best_weights"

/* ---- the run id and run.json ---- */

void rt_run_new_id(char *buf, size_t size) {
  uint32_t random = 0;
  if (getrandom(&random, sizeof random, GRND_NONBLOCK) != (ssize_t)sizeof random) {
    struct timespec ts; /* no entropy yet: the clock's nanoseconds will do */
    clock_gettime(CLOCK_REALTIME, &ts);
    random = (uint32_t)ts.tv_nsec ^ (uint32_t)getpid() << 16;
  }
  time_t now = time(NULL);
  struct tm utc;
  char when[32];
  strftime(when, sizeof when, "%Y%m%dT%H%M%SZ", gmtime_r(&now, &utc));
  snprintf(buf, size, "%s-%ld-%08x", when, (long)getpid(), random);
}

/* out_dir/run.json, through a temporary file and a rename. */
static void write_run_json(const RtRun *run, int resumed_after) {
  char path[4096], tmp[4200], why[256];
  rt_path_join(path, sizeof path, run->opt.out_dir, "run.json");
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f)
    rt_die("%s: cannot create: %s", tmp, strerror(errno));
  fprintf(f, "{\n  \"model\": \"%s\",\n  \"identity\": \"%016llx\",\n  \"run_id\": \"%s\"",
          run->model->name, (unsigned long long)run->model->identity, run->run_id);
  if (resumed_after >= 0)
    fprintf(f, ",\n  \"resumed_after_epoch\": %d", resumed_after);
  fprintf(f, "\n}\n");
  if (ferror(f) | fclose(f)) {
    unlink(tmp);
    rt_die("%s: write failed: %s", tmp, rt_write_error_text(errno, why, sizeof why));
  }
  if (rename(tmp, path) != 0)
    rt_die("%s: cannot rename %s over it: %s", path, tmp, strerror(errno));
}

/* --resume: last.ckpt's run, after checking it is this model's. Returns
 * the epoch it was saved after, or -1 (with a note) when there is none. */
static int adopt_last_run(RtRun *run) {
  struct stat st;
  if (stat(run->last_path, &st) != 0 && errno == ENOENT) {
    printf("note: no %s: nothing to resume, the run starts from the beginning\n", run->last_path);
    return -1;
  }
  RtCheckpointMeta meta;
  char err[1024];
  if (rt_checkpoint_read_meta(run->last_path, &meta, err, sizeof err) != 0 ||
      rt_checkpoint_check_owner(run->last_path, &meta, run->model->name, run->model->identity,
                                NULL, err, sizeof err) != 0)
    rt_die("%s; --resume refuses it (run without --resume to start over)", err);
  snprintf(run->run_id, sizeof run->run_id, "%s", meta.run_id);
  return meta.epoch;
}

/* Rank 0's (or the one process's) part: last.ckpt, the run id, run.json. */
static void start_on_root(RtRun *run) {
  if (rt_checkpoint_clean_stale(run->last_path))
    printf("note: removed %s.tmp, left by an interrupted save\n", run->last_path);
  int resumed_after = run->opt.resume ? adopt_last_run(run) : -1;
  if (resumed_after < 0) {
    run->opt.resume = 0;
    rt_run_new_id(run->run_id, sizeof run->run_id);
    if (unlink(run->last_path) == 0) /* an earlier run's: this run starts over */
      printf("note: removed %s of an earlier run (--resume continues an interrupted run)\n",
             run->last_path);
  }
  write_run_json(run, resumed_after);
}

void rt_run_start(RtRun *run) {
  if (rt_is_root(run)) /* under mpirun, rank 0 alone reads and writes the run's files */
    start_on_root(run);
  else
    rt_run_new_id(run->run_id, sizeof run->run_id);
  /* every rank resumes, or none: rank 0 found last.ckpt or started over */
  rt_dist_broadcast(run, &run->opt.resume, sizeof run->opt.resume);
}

/* ---- state words ---- */

typedef struct {
  uint64_t *w;
  size_t n, size;
} Words;

static void put(Words *s, uint64_t v) {
  if (s->n == s->size)
    rt_die("the resume state outgrew its %zu words (this is a bug in nnc)", s->size);
  s->w[s->n++] = v;
}

static uint64_t get(Words *s) { return s->n < s->size ? s->w[s->n++] : 0; }

static uint64_t double_bits(double x) {
  uint64_t b;
  memcpy(&b, &x, sizeof b);
  return b;
}

static double bits_double(uint64_t b) {
  double x;
  memcpy(&x, &b, sizeof x);
  return x;
}

static void put_rng(Words *s, const RtRng *rng) {
  for (int i = 0; i < 4; i++)
    put(s, rng->s[i]);
}

static void get_rng(Words *s, RtRng *rng) {
  for (int i = 0; i < 4; i++)
    rng->s[i] = (uint32_t)get(s);
}

static void put_monitor(Words *s, const RtMonitor *m) {
  put(s, double_bits(m->best));
  put(s, (uint64_t)(int64_t)m->best_epoch);
  put(s, (uint64_t)(int64_t)m->wait);
}

static void get_monitor(Words *s, RtMonitor *m) {
  m->best = bits_double(get(s));
  m->best_epoch = (int)(int64_t)get(s);
  m->wait = (int)(int64_t)get(s);
}

static void encode_state(Words *s, const RtResumeState *st) {
  uint32_t lr;
  memcpy(&lr, &st->learning_rate, sizeof lr);
  const uint64_t head[] = {STATE_TAG,  STATE_VERSION, (uint64_t)st->epoch, (uint64_t)st->steps,
                           (uint64_t)st->best_epoch, (uint64_t)st->stopped, st->seed, lr};
  for (size_t i = 0; i < sizeof head / sizeof *head; i++)
    put(s, head[i]);
  put_rng(s, &st->shuffle_rng);
  put_rng(s, &st->dropout_rng);
  put_monitor(s, &st->checkpoint);
  put_monitor(s, &st->early);
  put_monitor(s, &st->plateau.monitor);
  put(s, (uint64_t)(int64_t)st->plateau.cooldown_left);
  put(s, (uint64_t)st->history_bytes);
  put(s, (uint64_t)st->csv_log_bytes);
  put(s, (uint64_t)st->n_order);
  for (int i = 0; i < st->n_order; i++)
    put(s, (uint64_t)st->order[i]);
}

/* The fixed words; returns 0, or -1 when they are not a state this program reads. */
static int decode_state(Words *s, RtResumeState *st) {
  if (s->size < STATE_FIXED_WORDS || get(s) != STATE_TAG || get(s) != STATE_VERSION)
    return -1;
  st->epoch = (int)get(s);
  st->steps = (long)get(s);
  st->best_epoch = (int)get(s);
  st->stopped = (int)get(s);
  st->seed = get(s);
  uint32_t lr = (uint32_t)get(s);
  memcpy(&st->learning_rate, &lr, sizeof lr);
  get_rng(s, &st->shuffle_rng);
  get_rng(s, &st->dropout_rng);
  get_monitor(s, &st->checkpoint);
  get_monitor(s, &st->early);
  get_monitor(s, &st->plateau.monitor);
  st->plateau.cooldown_left = (int)(int64_t)get(s);
  st->history_bytes = (long)get(s);
  st->csv_log_bytes = (long)get(s);
  return 0;
}

/* ---- last.ckpt ---- */

/* The model's checkpoint tensors, then the best weights when kept. */
static RtTensorRef *resume_tensors(const RtRun *run, float *best_params, int *n) {
  const RtModel *model = run->model;
  RtTensorRef *t = rt_malloc(sizeof *t * (size_t)(model->n_checkpoint + 1));
  memcpy(t, model->checkpoint, sizeof *t * (size_t)model->n_checkpoint);
  *n = model->n_checkpoint;
  if (best_params)
    t[(*n)++] = (RtTensorRef){BEST_PARAMS_NAME, best_params, model->n_params};
  return t;
}

void rt_resume_save(const RtRun *run, const RtResumeState *state) {
  Words s = {.size = STATE_FIXED_WORDS + (size_t)state->n_order};
  s.w = rt_malloc(sizeof *s.w * s.size);
  encode_state(&s, state);
  RtCheckpointMeta meta = {.identity = run->model->identity, .epoch = state->epoch,
                           .step = state->steps, .monitor = state->checkpoint.best};
  snprintf(meta.model, sizeof meta.model, "%s", run->model->name);
  snprintf(meta.run_id, sizeof meta.run_id, "%s", run->run_id);
  int n;
  RtTensorRef *tensors = resume_tensors(run, state->best_params, &n);
  rt_checkpoint_save_state(run->last_path, tensors, n, &meta, s.w, s.n);
  free(tensors);
  free(s.w);
}

/* The state fits this run: same seed, same training examples. */
static void check_fits(const RtRun *run, const RtResumeState *st, int n_order) {
  const char *path = run->last_path;
  if (st->seed != run->opt.seed)
    rt_die("%s: written by a run with --seed %llu, this one has --seed %llu: resume with the same "
           "seed", path, (unsigned long long)st->seed, (unsigned long long)run->opt.seed);
  if (n_order != st->n_order)
    rt_die("%s: written for %d training examples, this run has %d (the data, --limit-train or the "
           "validation split changed): it cannot be resumed", path, st->n_order, n_order);
}

void rt_resume_load(const RtRun *run, RtResumeState *state) {
  const RtModel *model = run->model;
  RtCheckpointMeta meta;
  uint64_t *words = NULL;
  size_t n_words = 0;
  char err[1024];
  int n;
  RtTensorRef *tensors = resume_tensors(run, state->best_params, &n);
  if (rt_checkpoint_try_load_state(run->last_path, tensors, n, &meta, &words, &n_words, err,
                                   sizeof err) != 0 ||
      rt_checkpoint_check_owner(run->last_path, &meta, model->name, model->identity, run->run_id,
                                err, sizeof err) != 0)
    rt_die("%s; --resume refuses it", err);
  free(tensors);
  Words s = {.w = words, .size = n_words};
  int *order = state->order, n_order = state->n_order;
  float *best_params = state->best_params;
  if (decode_state(&s, state) != 0)
    rt_die("%s: holds no resume state this program reads", run->last_path);
  state->order = order, state->best_params = best_params;
  int saved_order = (int)get(&s);
  state->n_order = saved_order;
  check_fits(run, state, n_order);
  if (s.size - s.n != (size_t)n_order)
    rt_die("%s: corrupt resume state (%zu words where %d were expected)", run->last_path,
           s.size - s.n, n_order);
  for (int i = 0; i < n_order; i++)
    order[i] = (int)get(&s);
  free(words);
}

void rt_resume_truncate_log(const char *path, long bytes) {
  struct stat st;
  if (stat(path, &st) != 0)
    rt_die("%s: cannot resume its log: %s", path, strerror(errno));
  if (st.st_size < bytes)
    rt_die("%s: %lld bytes, shorter than the %ld it had when last.ckpt was saved: it was changed "
           "since, so the run cannot be resumed", path, (long long)st.st_size, bytes);
  if (truncate(path, bytes) != 0)
    rt_die("%s: cannot cut back to %ld bytes: %s", path, bytes, strerror(errno));
}
