/* Compile a CUDA kernel source as plain C++ for the CPU (tests only).

   Include this header, then the .cu file, then export each kernel with DBD_CPU_EXPORT(name):

       #include "cuda_cpu_shim.h"
       #include "advance.cu"
       DBD_CPU_EXPORT(dbd_advance)

   gives extern "C" void cpu_dbd_advance(unsigned grid, unsigned block, void* const* args), with
   args[k] pointing at the k-th kernel argument (a record or a scalar of the parameter's type).
   Blocks run one after another (blockIdx is the loop variable); the threads of a block run as
   CPU threads (threadIdx per thread), so __syncthreads() is a real barrier.  Like on a GPU the
   result is exact only for race-free kernels (threads of a block write disjoint memory between
   barriers), which the dbdlab kernels are.  The device intrinsics map to IEEE double arithmetic
   (built with -ffp-contract=off, like --fmad=false on the device) and to the C library's log,
   the one Numba calls.  Build with -std=c++20 -pthread. */
#ifndef DBD_CUDA_CPU_SHIM_H
#define DBD_CUDA_CPU_SHIM_H

#include <math.h>
#include <stddef.h>

#include <barrier>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict

struct dbd_dim3 {
    unsigned int x, y, z;
};

static thread_local dbd_dim3 threadIdx = {0, 0, 0};
static thread_local dbd_dim3 blockIdx = {0, 0, 0};
static dbd_dim3 blockDim = {1, 1, 1};
static dbd_dim3 gridDim = {1, 1, 1};
static std::barrier<>* dbd_block_barrier = nullptr;

static inline void __syncthreads() { dbd_block_barrier->arrive_and_wait(); }

static inline double __dmul_rn(double a, double b) { return a * b; }
static inline double __dadd_rn(double a, double b) { return a + b; }
static inline double __dsub_rn(double a, double b) { return a - b; }
static inline double __ddiv_rn(double a, double b) { return a / b; }

template <typename... Args, size_t... I>
static void dbd_cpu_launch_impl(void (*kernel)(Args...), unsigned grid, unsigned block,
                                void* const* args, std::index_sequence<I...>) {
    gridDim = {grid, 1, 1};
    blockDim = {block, 1, 1};
    for (unsigned b = 0; b < grid; ++b) {
        std::barrier<> barrier(block);
        dbd_block_barrier = &barrier;
        std::vector<std::thread> threads;
        threads.reserve(block);
        for (unsigned t = 0; t < block; ++t) {
            threads.emplace_back([=] {
                blockIdx = {b, 0, 0};
                threadIdx = {t, 0, 0};
                kernel(*static_cast<std::remove_cv_t<std::remove_reference_t<Args>>*>(
                    args[I])...);
            });
        }
        for (std::thread& thread : threads) {
            thread.join();
        }
        dbd_block_barrier = nullptr;
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
