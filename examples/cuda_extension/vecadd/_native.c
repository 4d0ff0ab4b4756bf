/* vecadd._native: element-wise addition on a CUDA device, or on the CPU when
 * the module was built without CUDA or finds no device at run time. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#ifdef VECADD_WITH_CUDA
#include "vecadd/kernel.h"
#endif

/* Copies a sequence of numbers into a new C array (NULL and an exception on error). */
static double *to_doubles(PyObject *sequence, Py_ssize_t *length) {
  PyObject *fast = PySequence_Fast(sequence, "add() arguments must be sequences of numbers");
  if (fast == NULL) return NULL;
  Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
  double *values = PyMem_Malloc((n > 0 ? n : 1) * sizeof(double));
  if (values == NULL) {
    Py_DECREF(fast);
    PyErr_NoMemory();
    return NULL;
  }
  for (Py_ssize_t i = 0; i < n; i++) {
    values[i] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(fast, i));
    if (PyErr_Occurred()) {
      PyMem_Free(values);
      Py_DECREF(fast);
      return NULL;
    }
  }
  Py_DECREF(fast);
  *length = n;
  return values;
}

/* "cuda" when a device runs the kernel, else "cpu"; `status` says why. */
static const char *choose_backend(char *status, size_t size) {
#ifdef VECADD_WITH_CUDA
  char reason[256] = "";
  int count = vecadd_cuda_device_count(reason, sizeof reason);
  if (count > 0) {
    PyOS_snprintf(status, size, "cuda: %d device%s", count, count == 1 ? "" : "s");
    return "cuda";
  }
  PyOS_snprintf(status, size, "no CUDA device: %s", reason);
#else
  PyOS_snprintf(status, size, "built without CUDA");
#endif
  return "cpu";
}

static PyObject *backend(PyObject *self, PyObject *unused) {
  char status[320];
  return PyUnicode_FromString(choose_backend(status, sizeof status));
}

static PyObject *device_status(PyObject *self, PyObject *unused) {
  char status[320];
  choose_backend(status, sizeof status);
  return PyUnicode_FromString(status);
}

static PyObject *cuda_runtime_version(PyObject *self, PyObject *unused) {
#ifdef VECADD_WITH_CUDA
  return PyLong_FromLong(vecadd_cuda_runtime_version());
#else
  Py_RETURN_NONE;
#endif
}

static PyObject *add(PyObject *self, PyObject *args) {
  PyObject *first, *second;
  if (!PyArg_ParseTuple(args, "OO", &first, &second)) return NULL;
  Py_ssize_t n = 0, m = 0;
  double *a = to_doubles(first, &n);
  if (a == NULL) return NULL;
  double *b = to_doubles(second, &m);
  if (b == NULL) {
    PyMem_Free(a);
    return NULL;
  }
  PyObject *result = NULL;
  double *out = NULL;
  if (n != m) {
    PyErr_SetString(PyExc_ValueError, "add() arguments must have the same length");
    goto done;
  }
  out = PyMem_Malloc((n > 0 ? n : 1) * sizeof(double));
  if (out == NULL) {
    PyErr_NoMemory();
    goto done;
  }
  char status[320];
  if (n > 0 && strcmp(choose_backend(status, sizeof status), "cuda") == 0) {
#ifdef VECADD_WITH_CUDA
    char error[256] = "";
    if (vecadd_cuda_add(a, b, out, (size_t)n, error, sizeof error) != 0) {
      PyErr_Format(PyExc_RuntimeError, "vecadd: the CUDA kernel failed: %s", error);
      goto done;
    }
#endif
  } else {
    for (Py_ssize_t i = 0; i < n; i++) out[i] = a[i] + b[i];
  }
  result = PyList_New(n);
  if (result == NULL) goto done;
  for (Py_ssize_t i = 0; i < n; i++) {
    PyObject *item = PyFloat_FromDouble(out[i]);
    if (item == NULL) {
      Py_CLEAR(result);
      goto done;
    }
    PyList_SET_ITEM(result, i, item);
  }
done:
  PyMem_Free(a);
  PyMem_Free(b);
  PyMem_Free(out);
  return result;
}

static PyMethodDef methods[] = {
    {"add", add, METH_VARARGS, "add(a, b) -> list[float]: a[i] + b[i], on a CUDA device if there is one."},
    {"backend", backend, METH_NOARGS, "backend() -> 'cuda' or 'cpu': where add() runs."},
    {"device_status", device_status, METH_NOARGS,
     "device_status() -> str: 'cuda: N devices', 'no CUDA device: <reason>' or 'built without CUDA'."},
    {"cuda_runtime_version", cuda_runtime_version, METH_NOARGS,
     "cuda_runtime_version() -> int or None: CUDART_VERSION the module was built with."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_native", NULL, -1, methods};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
