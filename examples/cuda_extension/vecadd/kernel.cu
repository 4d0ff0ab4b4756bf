// vecadd's kernel and the host code that runs it (compiled by nvcc through
// cuda_library; the host side by the C/C++ toolchain's compiler).
#include "vecadd/kernel.h"

#include <cuda_runtime.h>
#include <stdio.h>

namespace {

__global__ void add_kernel(const double* a, const double* b, double* out, size_t n) {
  size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) out[i] = a[i] + b[i];
}

void describe(cudaError_t status, char* text, size_t size) {
  snprintf(text, size, "%s (%s)", cudaGetErrorString(status), cudaGetErrorName(status));
}

}  // namespace

extern "C" int vecadd_cuda_device_count(char* reason, size_t reason_size) {
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    describe(status, reason, reason_size);
    return 0;
  }
  if (count == 0) snprintf(reason, reason_size, "cudaGetDeviceCount found no device");
  return count;
}

extern "C" int vecadd_cuda_add(const double* a, const double* b, double* out, size_t n,
                               char* error, size_t error_size) {
  const size_t bytes = n * sizeof(double);
  double *da = nullptr, *db = nullptr, *dout = nullptr;
  cudaError_t status = cudaMalloc(&da, bytes);
  if (status == cudaSuccess) status = cudaMalloc(&db, bytes);
  if (status == cudaSuccess) status = cudaMalloc(&dout, bytes);
  if (status == cudaSuccess) status = cudaMemcpy(da, a, bytes, cudaMemcpyHostToDevice);
  if (status == cudaSuccess) status = cudaMemcpy(db, b, bytes, cudaMemcpyHostToDevice);
  if (status == cudaSuccess) {
    const unsigned int block = 256;
    const unsigned int grid = static_cast<unsigned int>((n + block - 1) / block);
    add_kernel<<<grid, block>>>(da, db, dout, n);
    status = cudaGetLastError();
  }
  if (status == cudaSuccess) status = cudaMemcpy(out, dout, bytes, cudaMemcpyDeviceToHost);
  cudaFree(da);
  cudaFree(db);
  cudaFree(dout);
  if (status != cudaSuccess) {
    describe(status, error, error_size);
    return -1;
  }
  return 0;
}

extern "C" int vecadd_cuda_runtime_version(void) { return CUDART_VERSION; }
