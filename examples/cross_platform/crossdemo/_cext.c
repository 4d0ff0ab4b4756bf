// The C extension: stat, fcntl and getrandom, the calls whose newest glibc
// symbol versions (stat@GLIBC_2.33, fcntl64@GLIBC_2.28, getrandom@GLIBC_2.25)
// decide the manylinux tag of a build.
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

// getrandom() is a glibc function since 2.25. Older targets (zig's glibc 2.17
// headers do not declare it) call the system call it wraps.
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 25)
#include <sys/random.h>
#define CROSSDEMO_GETRANDOM "getrandom"
static long random_bytes(void *buffer, size_t length) {
  return (long)getrandom(buffer, length, 0);
}
#else
#define CROSSDEMO_GETRANDOM "syscall"
static long random_bytes(void *buffer, size_t length) {
#ifdef SYS_getrandom
  return syscall(SYS_getrandom, buffer, length, 0);
#else
  errno = ENOSYS;
  return -1;
#endif
}
#endif

// open + fcntl(F_GETFD) + fstat + stat: the size of a file.
static PyObject *file_size(PyObject *self, PyObject *args) {
  const char *path;
  if (!PyArg_ParseTuple(args, "s", &path)) return NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
  int flags = fcntl(fd, F_GETFD);
  struct stat by_fd, by_path;
  int failed = flags < 0 || !(flags & FD_CLOEXEC) || fstat(fd, &by_fd) != 0 ||
               stat(path, &by_path) != 0 || by_fd.st_size != by_path.st_size;
  int saved = errno;
  close(fd);
  if (failed) {
    errno = saved;
    return PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
  }
  return PyLong_FromLongLong((long long)by_path.st_size);
}

// `length` random bytes from getrandom, as a bytes object.
static PyObject *random_bytes_py(PyObject *self, PyObject *args) {
  Py_ssize_t length;
  if (!PyArg_ParseTuple(args, "n", &length)) return NULL;
  char buffer[256];
  if (length < 0 || length > (Py_ssize_t)sizeof(buffer)) {
    PyErr_SetString(PyExc_ValueError, "length must be 0..256");
    return NULL;
  }
  long got = random_bytes(buffer, (size_t)length);
  if (got < 0) return PyErr_SetFromErrno(PyExc_OSError);
  return PyBytes_FromStringAndSize(buffer, (Py_ssize_t)got);
}

static PyMethodDef methods[] = {
    {"file_size", file_size, METH_VARARGS, "Size of a file, by open + fcntl + fstat + stat."},
    {"random_bytes", random_bytes_py, METH_VARARGS, "Random bytes from getrandom."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cext", NULL, -1, methods};

PyMODINIT_FUNC PyInit__cext(void) {
  PyObject *m = PyModule_Create(&module);
  // How getrandom is reached in this build: "getrandom" (glibc >= 2.25) or "syscall".
  if (m && PyModule_AddStringConstant(m, "GETRANDOM", CROSSDEMO_GETRANDOM) != 0) {
    Py_DECREF(m);
    return NULL;
  }
  return m;
}
