/* Compile a CUDA kernel source as plain C++ for the CPU (tests only).

   Include this header, then the .cu file, then export each kernel with DBD_CPU_EXPORT(name):

       #include "cuda_cpu_shim.h"
       #include "advance.cu"
       DBD_CPU_EXPORT(dbd_advance)

   gives extern "C" void cpu_dbd_advance(unsigned grid, unsigned block, void* const* args), which
   runs the kernel body once per (block, thread) index, in order, with args[k] pointing at the
   k-th kernel argument (a record or a scalar of the parameter's type).  blockIdx/threadIdx are
   the loop variables; the device intrinsics the kernels use map to IEEE double arithmetic (built
   with -ffp-contract=off, like --fmad=false on the device) and to the C library's log, the one
   Numba calls.  Running threads one after another is exact for kernels whose threads write
   disjoint memory and read nothing another thread of the same launch writes, which is what the
   dbdlab kernels do (one replica, or one unit of a layer, per thread). */
#ifndef DBD_CUDA_CPU_SHIM_H
#define DBD_CUDA_CPU_SHIM_H

#include <math.h>
#include <stddef.h>

#include <type_traits>
#include <utility>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict

struct dbd_dim3 {
    unsigned int x, y, z;
};

static dbd_dim3 threadIdx = {0, 0, 0};
static dbd_dim3 blockIdx = {0, 0, 0};
static dbd_dim3 blockDim = {1, 1, 1};
static dbd_dim3 gridDim = {1, 1, 1};

static inline double __dmul_rn(double a, double b) { return a * b; }
static inline double __dadd_rn(double a, double b) { return a + b; }
static inline double __dsub_rn(double a, double b) { return a - b; }
static inline double __ddiv_rn(double a, double b) { return a / b; }

template <typename... Args, size_t... I>
static void dbd_cpu_launch_impl(void (*kernel)(Args...), unsigned grid, unsigned block,
                                void* const* args, std::index_sequence<I...>) {
    gridDim = {grid, 1, 1};
    blockDim = {block, 1, 1};
    for (blockIdx.x = 0; blockIdx.x < grid; ++blockIdx.x) {
        for (threadIdx.x = 0; threadIdx.x < block; ++threadIdx.x) {
            kernel(*static_cast<std::remove_cv_t<std::remove_reference_t<Args>>*>(args[I])...);
        }
    }
}

template <typename... Args>
static void dbd_cpu_launch(void (*kernel)(Args...), unsigned grid, unsigned block,
                           void* const* args) {
    dbd_cpu_launch_impl(kernel, grid, block, args, std::index_sequence_for<Args...>{});
}

#define DBD_CPU_EXPORT(kernel)                                                              \
    extern "C" void cpu_##kernel(unsigned grid, unsigned block, void* const* args) {        \
        dbd_cpu_launch(kernel, grid, block, args);                                          \
    }

#endif
