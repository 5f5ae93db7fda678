/* A call the contract accepts: rt_matmul_forward takes 6 arguments. */
#include "emit.h"
void good(Emitter *e) { EMIT_CALL(e, matmul_forward, NULL, "out", "x", "w", "m", "4", "8"); }
