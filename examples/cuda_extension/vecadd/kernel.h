/* vecadd's CUDA side, callable from C (the extension module, _native.c). */
#ifndef VECADD_KERNEL_H_
#define VECADD_KERNEL_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The number of CUDA devices; 0 with the reason in `reason` when there is
 * none (no GPU, no driver), as cudaGetDeviceCount reports it. */
int vecadd_cuda_device_count(char *reason, size_t reason_size);

/* out[i] = a[i] + b[i] on device 0. Returns 0, or -1 with the CUDA error in
 * `error`. */
int vecadd_cuda_add(const double *a, const double *b, double *out, size_t n, char *error,
                    size_t error_size);

/* The CUDA runtime version the module was built with (CUDART_VERSION). */
int vecadd_cuda_runtime_version(void);

#ifdef __cplusplus
}
#endif

#endif /* VECADD_KERNEL_H_ */
