#ifndef TRIBUTARY_COPENBLAS_SHIM_H
#define TRIBUTARY_COPENBLAS_SHIM_H
#include <cblas.h>
#include <lapacke.h>
#endif
