/* Counter-based random streams of dbdlab.rng in CUDA C (also compiles as C++ for the CPU).

   Draw n of stream k is mix64(k + (n + 1)·γ) with the SplitMix64 finaliser mix64 and
   γ = 0x9E3779B97F4A7C15; child key i of k is mix64(k ^ mix64((i + 1)·γ)); a uniform double
   in [0, 1) takes the top 53 bits.  Same arithmetic as dbdlab.rng.bits / derive / uniform. */
#ifndef DBD_RNG_CUH
#define DBD_RNG_CUH

typedef unsigned long long u64;

__device__ __forceinline__ u64 dbd_mix64(u64 z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

__device__ __forceinline__ u64 dbd_derive(u64 key, u64 index) {
    return dbd_mix64(key ^ dbd_mix64((index + 1ULL) * 0x9E3779B97F4A7C15ULL));
}

__device__ __forceinline__ double dbd_uniform(u64 key, u64 counter) {
    u64 z = dbd_mix64(key + (counter + 1ULL) * 0x9E3779B97F4A7C15ULL);
    return (double)(z >> 11) * 1.1102230246251565e-16;
}

#endif
