"""Wheel size budgets and the HTML size report (``tools/wheel_size.py``).

- ``archive``: the members and sizes of a wheel, from its central directory
  (read by ``ml_wheels.unpack_zip``, the strict reader ``py_import`` uses);
- ``manifest``: the JSON size manifest a baseline is made of;
- ``budget``: the budget check and its message (largest members, growth);
- ``elf``: the largest sections of a shared library, read without inflating
  more than the headers need;
- ``treemap`` and ``report``: the self-contained HTML page.
"""
