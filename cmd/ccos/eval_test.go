package main

import (
	"slices"
	"testing"
)

func TestNumbersAreNotFlags(t *testing.T) {
	tests := []struct{ in, want []string }{
		{[]string{"-0.5"}, []string{"--", "-0.5"}},
		{[]string{"--timeout", "1s", "-7"}, []string{"--timeout", "1s", "--", "-7"}},
		{[]string{"-f", "x.rtfs"}, []string{"-f", "x.rtfs"}},
		{[]string{"-f", "-1.rtfs"}, []string{"-f", "-1.rtfs"}},
		{[]string{"--", "-3"}, []string{"--", "-3"}},
		{[]string{"(+ 1 2)"}, []string{"(+ 1 2)"}},
	}
	for _, tt := range tests {
		if got := numbersAreNotFlags(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("numbersAreNotFlags(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
