package store_test

import (
	"testing"
	"time"

	"github.com/ccos-go/ccos/ccos/store"
)

func TestCeilMillis(t *testing.T) {
	base := time.UnixMilli(1000)
	for _, tt := range []struct {
		t    time.Time
		want int64
	}{
		{base, 1000}, {base.Add(time.Nanosecond), 1001}, {base.Add(-time.Nanosecond), 1000},
		{time.UnixMilli(-5).Add(-time.Nanosecond), -5}, {time.UnixMilli(-5), -5},
	} {
		if got := store.CeilMillis(tt.t); got != tt.want {
			t.Errorf("CeilMillis(%v) = %d, want %d", tt.t, got, tt.want)
		}
	}
}
