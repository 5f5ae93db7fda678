/*
 * probs_main.c — a user of an exported model, for the export test: reads N
 * raw uint8 examples from a file (with -DFLOAT_INPUT, float32 ones: an
 * f32[...] input, through MODEL_predict) and prints each one's
 * probabilities, using only MODEL.h / MODEL.c (compiled with -DMODEL=NAME
 * -include NAME.h).
 *   probs_main INPUT.bin N
 */
#include <stdio.h>
#include <stdlib.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#ifdef FLOAT_INPUT
typedef float Value;
#define PREDICT CAT(MODEL, _predict)
#else
typedef unsigned char Value;
#define PREDICT CAT(MODEL, _predict_u8)
#endif
#define INPUT_SIZE CAT(MODEL, _INPUT_SIZE)
#define N_SCORES CAT(MODEL, _N_SCORES)

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: probs_main INPUT.bin N\n");
    return 2;
  }
  int n = atoi(argv[2]);
  Value *x = malloc(sizeof(Value) * (size_t)n * INPUT_SIZE);
  float *probs = malloc(sizeof(float) * (size_t)n * N_SCORES);
  FILE *f = fopen(argv[1], "rb");
  if (!x || !probs || !f || fread(x, sizeof(Value) * INPUT_SIZE, (size_t)n, f) != (size_t)n) {
    fprintf(stderr, "probs_main: cannot read %d examples from %s\n", n, argv[1]);
    return 1;
  }
  fclose(f);
  if (PREDICT(x, n, probs) != 0)
    return 1;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < N_SCORES; j++)
      printf("%.9g%c", probs[(size_t)i * N_SCORES + j], j + 1 == N_SCORES ? '\n' : ' ');
  free(x);
  free(probs);
  return 0;
}
