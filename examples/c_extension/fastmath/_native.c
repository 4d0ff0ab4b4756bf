/* fastmath._native: a small CPython extension module built by Bazel. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#ifdef Py_LIMITED_API
/* The abi3 build (//abi3): the limited API has no borrowed access to a
 * sequence's items (PySequence_Fast_GET_ITEM), so it takes new references. */
#define FM_SIZE(s) PySequence_Size(s)
static double fm_item(PyObject *s, Py_ssize_t i) {
  PyObject *item = PySequence_GetItem(s, i);
  if (item == NULL) return -1.0;
  double value = PyFloat_AsDouble(item);
  Py_DECREF(item);
  return value;
}
#define FM_ITEM(s, i) fm_item((s), (i))
#else
#define FM_SIZE(s) PySequence_Fast_GET_SIZE(s)
#define FM_ITEM(s, i) PyFloat_AsDouble(PySequence_Fast_GET_ITEM((s), (i)))
#endif

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
  Py_ssize_t n = FM_SIZE(fa);
  if (n != FM_SIZE(fb)) {
    Py_DECREF(fa);
    Py_DECREF(fb);
    PyErr_SetString(PyExc_ValueError, "dot() arguments must have the same length");
    return NULL;
  }
  double sum = 0.0;
  for (Py_ssize_t i = 0; i < n; i++) {
    double x = FM_ITEM(fa, i);
    double y = FM_ITEM(fb, i);
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
