/* fastmath._native: a small CPython extension module built by Bazel. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *dot(PyObject *self, PyObject *args) {
  PyObject *a, *b;
  if (!PyArg_ParseTuple(args, "OO", &a, &b)) return NULL;
  PyObject *fa = PySequence_Fast(a, "dot() arguments must be sequences");
  if (fa == NULL) return NULL;
  PyObject *fb = PySequence_Fast(b, "dot() arguments must be sequences");
  if (fb == NULL) {
    Py_DECREF(fa);
    return NULL;
  }
  Py_ssize_t n = PySequence_Fast_GET_SIZE(fa);
  if (n != PySequence_Fast_GET_SIZE(fb)) {
    Py_DECREF(fa);
    Py_DECREF(fb);
    PyErr_SetString(PyExc_ValueError, "dot() arguments must have the same length");
    return NULL;
  }
  double sum = 0.0;
  for (Py_ssize_t i = 0; i < n; i++) {
    double x = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(fa, i));
    double y = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(fb, i));
    if (PyErr_Occurred()) {
      Py_DECREF(fa);
      Py_DECREF(fb);
      return NULL;
    }
    sum += x * y;
  }
  Py_DECREF(fa);
  Py_DECREF(fb);
  return PyFloat_FromDouble(sum);
}

static PyMethodDef methods[] = {
    {"dot", dot, METH_VARARGS, "dot(a, b) -> float: the dot product of two sequences."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_native", "Native kernels of fastmath.", -1, methods,
};

PyMODINIT_FUNC PyInit__native(void) {
  PyObject *m = PyModule_Create(&module);
#ifdef Py_GIL_DISABLED
  /* dot() keeps no shared state: free-threaded builds may keep the GIL off. */
  if (m != NULL && PyUnstable_Module_SetGIL(m, Py_MOD_GIL_NOT_USED) < 0) {
    Py_DECREF(m);
    return NULL;
  }
#endif
  return m;
}
