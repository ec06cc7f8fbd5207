package pebblestate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"

	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/checkpoint"
)

// Kind is the BackendHandle kind of this backend's snapshots.
const Kind = "pebble"

// Defaults for Config's zero fields.
const (
	DefaultCacheSize    = 64 << 20
	DefaultMemTableSize = 16 << 20
)

// Config configures a Provider.
type Config struct {
	// Dir is the root of the backends' working directories. It is created
	// if missing.
	Dir string
	// CacheSize is the size in bytes of the block cache that all backends
	// of the provider share (default DefaultCacheSize).
	CacheSize int64
	// MemTableSize is each database's memtable size in bytes (default
	// DefaultMemTableSize).
	MemTableSize uint64
	// BatchSize is the size in bytes at which a backend's write batch is
	// committed to its database. The default, half the memtable size, makes
	// every such commit a Pebble "large batch": the batch, already sorted
	// by its index, joins the queue of memtables and is flushed as it is
	// instead of being inserted key by key into the memtable (about twice
	// the write throughput of 1 MiB batches for random keys).
	BatchSize int
	// Logger receives Pebble's messages (default slog.Default()).
	Logger *slog.Logger
}

// Provider opens Pebble backends under one root directory, sharing one
// block cache. It is safe for concurrent use.
type Provider struct {
	cfg   Config
	cache *pebble.Cache
	log   pebbleLogger

	mu     sync.Mutex
	closed bool
}

// New returns a provider for cfg, creating cfg.Dir.
func New(cfg Config) (*Provider, error) {
	if cfg.Dir == "" {
		return nil, errors.New("pebblestate: Config.Dir is empty")
	}
	if cfg.CacheSize < 0 || cfg.BatchSize < 0 {
		return nil, fmt.Errorf("pebblestate: negative cache size %d or batch size %d", cfg.CacheSize, cfg.BatchSize)
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.MemTableSize == 0 {
		cfg.MemTableSize = DefaultMemTableSize
	}
	if cfg.MemTableSize >= 4<<30 {
		return nil, fmt.Errorf("pebblestate: memtable size %d is not below 4 GiB", cfg.MemTableSize)
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = int(cfg.MemTableSize / 2)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("pebblestate: creating root directory: %w", err)
	}
	return &Provider{cfg: cfg, cache: pebble.NewCache(cfg.CacheSize), log: pebbleLogger{cfg.Logger}}, nil
}

// Close releases the provider's reference to the shared block cache.
// Backends still open keep their own references and stay usable.
func (p *Provider) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		p.cache.Unref()
	}
	return nil
}

// Dir is the root of the provider's working directories (Config.Dir).
func (p *Provider) Dir() string { return p.cfg.Dir }

// Open implements state.Provider: it opens an empty backend for scope.
func (p *Provider) Open(ctx context.Context, scope state.Scope) (state.Backend, error) {
	b, err := p.newBackend(scope)
	if err != nil {
		return nil, err
	}
	if err := b.openDB(false); err != nil {
		b.abandon()
		return nil, err
	}
	return b, nil
}

// options returns the Pebble options of one database.
func (p *Provider) options(readOnly bool) *pebble.Options {
	o := &pebble.Options{
		Cache:              p.cache,
		MemTableSize:       p.cfg.MemTableSize,
		DisableWAL:         true,
		ReadOnly:           readOnly,
		Logger:             p.log,
		FormatMajorVersion: pebble.FormatNewest,
	}
	// Bloom filters on every level (L1+ inherit L0's): operators whose
	// state outgrows their memory look up keys that are mostly absent
	// (new keys), and a filter answers those without reading a block.
	o.Levels[0].FilterPolicy = bloom.FilterPolicy(10)
	return o
}

// newBackend creates a backend's working directory; the database is opened
// by the caller.
func (p *Provider) newBackend(scope state.Scope) (*Backend, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("pebblestate: opening %s: provider is closed", scope)
	}
	if scope.KeyGroups.Start < 0 || scope.KeyGroups.End < scope.KeyGroups.Start {
		return nil, fmt.Errorf("pebblestate: opening %s: bad key-group range", scope)
	}
	dir, err := os.MkdirTemp(p.cfg.Dir, dirPattern(scope))
	if err != nil {
		return nil, fmt.Errorf("pebblestate: opening %s: creating working directory: %w", scope, err)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	b := &Backend{
		p:      p,
		scope:  scope,
		dir:    dir,
		dbDir:  filepath.Join(dir, "db"),
		dbID:   hex.EncodeToString(id[:]),
		tables: map[string]*Table{},
		known:  map[string]checkpoint.FileRef{},
		refs:   1,
	}
	return b, nil
}

// dirPattern names a backend's working directory after its scope (only
// safe characters; os.MkdirTemp appends a random suffix).
func dirPattern(s state.Scope) string {
	clean := func(x string) string {
		x = strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
				return r
			}
			return '_'
		}, x)
		if len(x) > 40 {
			x = x[:40]
		}
		return x
	}
	return fmt.Sprintf("%s_%s_%d_", clean(s.Job), clean(s.OperatorID), s.Subtask)
}

// pebbleLogger routes Pebble's messages to slog: its chatter at debug
// level, its errors at error level.
type pebbleLogger struct{ l *slog.Logger }

func (l pebbleLogger) Infof(format string, args ...any) {
	l.l.Debug(fmt.Sprintf(format, args...), "component", "pebble")
}

func (l pebbleLogger) Errorf(format string, args ...any) {
	l.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
}

// Fatalf is called by Pebble on a broken internal invariant and must not
// return (Pebble's default exits the process); it logs and panics.
func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.l.Error(msg, "component", "pebble", "fatal", true)
	panic("pebblestate: pebble: " + msg)
}

var (
	_ checkpoint.RestoringProvider = (*Provider)(nil)
	_ checkpoint.SnapshotBackend   = (*Backend)(nil)
	_ state.Table                  = (*Table)(nil)
)
