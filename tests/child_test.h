/*
 * child_test.h — run a piece of code in a forked child and capture its exit
 * status, stdout and stderr, for tests of code that exits (rt_die, option
 * errors). Header-only, shared by the runtime suites.
 */
#ifndef CHILD_TEST_H
#define CHILD_TEST_H

#include <check.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
  int status; /* exit code, or 128 + signal */
  char out[8192];
  char err[8192];
} ChildResult;

static void child_read_capture(FILE *f, char *buf, size_t size) {
  rewind(f);
  size_t n = fread(buf, 1, size - 1, f);
  buf[n] = '\0';
  fclose(f);
}

/* Runs fn(arg) in a child process; if fn returns, the child exits with
 * returned_status. */
static ChildResult run_in_child_status(void (*fn)(void *), void *arg, int returned_status) {
  ChildResult r;
  FILE *out = tmpfile(), *err = tmpfile();
  ck_assert(out && err);
  fflush(NULL);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    dup2(fileno(out), 1);
    dup2(fileno(err), 2);
    fn(arg);
    fflush(NULL);
    _exit(returned_status);
  }
  int status;
  waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  child_read_capture(out, r.out, sizeof r.out);
  child_read_capture(err, r.err, sizeof r.err);
  return r;
}

static inline ChildResult run_in_child(void (*fn)(void *), void *arg) {
  return run_in_child_status(fn, arg, 0);
}

#endif
