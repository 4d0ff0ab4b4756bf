#!/bin/sh
echo "coverage is not available in the offline test harness" >&2
exit 1
