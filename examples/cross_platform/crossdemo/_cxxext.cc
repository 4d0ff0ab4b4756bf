// The C++ extension: the std:: API of //crossdemo:words, its C++ exceptions
// caught here and turned into Python exceptions, and the same stat, fcntl
// and getrandom calls as the C extension, from C++.
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <vector>

#include "words.h"

#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 25)
#include <sys/random.h>
static long random_bytes(void *buffer, size_t length) {
  return static_cast<long>(getrandom(buffer, length, 0));
}
#else
// zig's glibc 2.17 headers do not declare getrandom(): the system call it wraps.
static long random_bytes(void *buffer, size_t length) {
  return syscall(SYS_getrandom, buffer, length, 0);
}
#endif

namespace {

// The contents of a file, read after open + fcntl + fstat + stat; throws
// std::system_error on failure.
std::string read_file(const std::string &path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), path);
  struct stat by_fd, by_path;
  if (fcntl(fd, F_GETFD) < 0 || fstat(fd, &by_fd) != 0 || stat(path.c_str(), &by_path) != 0) {
    int saved = errno;
    close(fd);
    throw std::system_error(saved, std::generic_category(), path);
  }
  std::string contents(static_cast<size_t>(by_path.st_size), '\0');
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t got = read(fd, &contents[done], contents.size() - done);
    if (got <= 0) break;
    done += static_cast<size_t>(got);
  }
  close(fd);
  contents.resize(done);
  return contents;
}

PyObject *to_list(const std::vector<std::string> &items) {
  PyObject *list = PyList_New(static_cast<Py_ssize_t>(items.size()));
  if (!list) return nullptr;
  for (size_t i = 0; i < items.size(); ++i) {
    PyObject *item = PyUnicode_FromStringAndSize(items[i].data(), items[i].size());
    if (!item) {
      Py_DECREF(list);
      return nullptr;
    }
    PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i), item);
  }
  return list;
}

}  // namespace

// split(text) -> list of words; ValueError (from words::Error) when there are none.
static PyObject *split(PyObject *, PyObject *args) {
  const char *text;
  if (!PyArg_ParseTuple(args, "s", &text)) return nullptr;
  try {
    return to_list(words::split(text));
  } catch (const words::Error &error) {
    PyErr_SetString(PyExc_ValueError, error.what());
    return nullptr;
  }
}

// round_trip(message) -> message, after throwing it in words.cc and catching it here.
static PyObject *round_trip(PyObject *, PyObject *args) {
  const char *message;
  if (!PyArg_ParseTuple(args, "s", &message)) return nullptr;
  try {
    words::fail(message);
  } catch (const std::runtime_error &error) {
    return PyUnicode_FromString(error.what());
  }
  Py_RETURN_NONE;
}

// file_words(path) -> the words of a file; OSError or ValueError from C++ exceptions.
static PyObject *file_words(PyObject *, PyObject *args) {
  const char *path;
  if (!PyArg_ParseTuple(args, "s", &path)) return nullptr;
  try {
    return to_list(words::split(read_file(path)));
  } catch (const std::system_error &error) {
    errno = error.code().value();
    return PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
  } catch (const words::Error &error) {
    PyErr_SetString(PyExc_ValueError, error.what());
    return nullptr;
  }
}

// random_hex(n) -> 2n hex digits of n bytes from getrandom.
static PyObject *random_hex(PyObject *, PyObject *args) {
  Py_ssize_t length;
  if (!PyArg_ParseTuple(args, "n", &length)) return nullptr;
  if (length < 0 || length > 256) {
    PyErr_SetString(PyExc_ValueError, "length must be 0..256");
    return nullptr;
  }
  std::vector<unsigned char> bytes(static_cast<size_t>(length));
  long got = random_bytes(bytes.data(), bytes.size());
  if (got < 0) return PyErr_SetFromErrno(PyExc_OSError);
  static const char digits[] = "0123456789abcdef";
  std::string hex;
  for (long i = 0; i < got; ++i) {
    hex += digits[bytes[i] >> 4];
    hex += digits[bytes[i] & 15];
  }
  // c_str(), not data(): the non-const data() of C++17 needs GLIBCXX_3.4.26 (GCC 9).
  return PyUnicode_FromStringAndSize(hex.c_str(), static_cast<Py_ssize_t>(hex.size()));
}

static PyMethodDef methods[] = {
    {"split", split, METH_VARARGS, "Words of a text (std::vector<std::string>); ValueError if none."},
    {"round_trip", round_trip, METH_VARARGS, "Throws a C++ exception with the message, returns what was caught."},
    {"file_words", file_words, METH_VARARGS, "Words of a file read after open, fcntl, fstat and stat."},
    {"random_hex", random_hex, METH_VARARGS, "Hex digits of n random bytes from getrandom."},
    {nullptr, nullptr, 0, nullptr},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cxxext", nullptr, -1, methods};

PyMODINIT_FUNC PyInit__cxxext(void) { return PyModule_Create(&module); }
