package connectors

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"500ms": 500 * time.Millisecond, "2s": 2 * time.Second, "1h30m": 90 * time.Minute,
		"10 s": 10 * time.Second, "1min": time.Minute, "90 min": 90 * time.Minute, "1d": 24 * time.Hour,
		"12 h": 12 * time.Hour, "5 seconds": 5 * time.Second, "1000": time.Second, " 3 DAYS ": 72 * time.Hour, "-5 s": -5 * time.Second,
	} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "s", "1 fortnight", "-", "- 1 d", "1.5 d", "99999999999999 d"} {
		if d, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, d)
		}
	}
}
