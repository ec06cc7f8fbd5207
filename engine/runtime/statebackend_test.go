package runtime

import (
	"os"
	"strings"
	"testing"

	"github.com/eddy-streaming/eddy/state/memstate"
	"github.com/eddy-streaming/eddy/state/pebblestate"
)

func TestLocalState(t *testing.T) {
	// Not asked for, or in memory: nothing changes.
	for _, cfg := range []map[string]string{nil, {StateBackendKey: "hashmap"}, {StateBackendKey: "memory"}} {
		opts := Options{}.withDefaults()
		done, err := localState(&opts, false, cfg)
		if err != nil || done() != nil {
			t.Fatalf("%v: %v", cfg, err)
		}
		if _, ok := opts.State.(memstate.Provider); !ok {
			t.Fatalf("%v: state is %T", cfg, opts.State)
		}
	}
	// Pebble in a temporary directory, removed at the end.
	for _, v := range []string{"pebble", "rocksdb"} {
		opts := Options{}.withDefaults()
		done, err := localState(&opts, false, map[string]string{StateBackendKey: v})
		if err != nil {
			t.Fatal(err)
		}
		p, ok := opts.State.(*pebblestate.Provider)
		if !ok {
			t.Fatalf("%s: state is %T", v, opts.State)
		}
		dir := p.Dir()
		if _, err := os.Stat(dir); err != nil {
			t.Fatal(err)
		}
		if err := done(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("%s left behind: %v", dir, err)
		}
	}
	// The caller's provider wins.
	opts := Options{State: memstate.Provider{}}.withDefaults()
	if _, err := localState(&opts, true, map[string]string{StateBackendKey: "pebble"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := opts.State.(memstate.Provider); !ok {
		t.Fatalf("state is %T", opts.State)
	}
	// A bad value says what is accepted.
	opts = Options{}.withDefaults()
	_, err := localState(&opts, false, map[string]string{StateBackendKey: "redis"})
	if err == nil || !strings.Contains(err.Error(), "'state.backend.type' = 'redis'") || !strings.Contains(err.Error(), "'pebble'") {
		t.Fatalf("error: %v", err)
	}
}
