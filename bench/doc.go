// Package bench holds the cross-language benchmark of ccos against
// CPython 3: RTFS and Python programs doing the same work, run as whole
// processes by BenchmarkVsPython; compare.sh turns the results into the
// table in README.md.
package bench
