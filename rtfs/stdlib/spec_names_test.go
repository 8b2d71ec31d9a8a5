package stdlib

import "testing"

// TestSpecNames checks that every function named in RTFS.md §4 is a
// builtin, and that the nondeterministic ones the spec excludes are not.
func TestSpecNames(t *testing.T) {
	names := []string{
		"+", "-", "*", "/", "quot", "rem", "mod", "inc", "dec", "abs", "min", "max", "==", "<",
		">", "<=", ">=", "zero?", "pos?", "neg?", "even?", "odd?", "number?", "int?",
		"integer?", "float?", "nan?", "sqrt", "pow", "floor", "ceil", "round", "factorial",
		"=", "not=", "not", "identity", "compare", "hash", "nil?", "some?", "true?", "false?",
		"boolean?", "string?", "keyword?", "symbol?", "fn?", "map?", "vector?", "list?",
		"set?", "coll?", "seq?", "sequential?", "atom?", "error?", "type", "type-name", "str",
		"subs", "string-length", "count", "upper-case", "lower-case", "trim", "triml", "trimr",
		"split", "join", "replace", "starts-with?", "ends-with?", "includes?", "index-of",
		"blank?", "format", "re-find", "re-matches", "re-seq", "name", "namespace", "keyword",
		"symbol", "parse-int", "parse-float", "string-upper", "string-lower", "string-trim",
		"string-contains", "substring", "empty?", "not-empty", "first", "second", "last",
		"rest", "next", "nth", "get", "get-in", "contains?", "cons", "conj", "disj", "concat",
		"into", "vec", "vector", "list", "set", "hash-map", "hash-set", "seq", "take", "drop",
		"take-while", "drop-while", "take-last", "drop-last", "butlast", "reverse", "sort",
		"sort-by", "distinct", "dedupe", "frequencies", "group-by", "partition",
		"partition-all", "partition-by", "interleave", "interpose", "flatten", "range",
		"repeat", "map", "mapv", "map-indexed", "mapcat", "filter", "filterv", "remove",
		"reduce", "reduce-kv", "keep", "some", "every?", "not-every?", "not-any?", "apply",
		"zipmap", "subvec", "min-key", "max-key", "assoc", "assoc-in", "dissoc", "update",
		"update-in", "merge", "merge-with", "select-keys", "keys", "vals", "find", "key",
		"val", "rename-keys", "partial", "comp", "complement", "constantly", "juxt", "fnil",
		"memoize", "atom", "deref", "reset!", "swap!", "compare-and-set!", "ex-info",
		"ex-message", "ex-data", "ex-type", "parse-json", "serialize-json", "print-str",
		"pr-str", "read-string",
	}
	u := Universe()
	for _, n := range names {
		if _, ok := u[n]; !ok {
			t.Errorf("RTFS.md §4 names %s but it is not a builtin", n)
		}
	}
	for _, n := range []string{"rand", "rand-int", "shuffle", "slurp", "spit"} {
		if _, ok := u[n]; ok {
			t.Errorf("%s must not be a builtin: effects and randomness are capabilities", n)
		}
	}
}
