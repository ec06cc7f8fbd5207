package print

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/format"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// The option keys.
const (
	OptIdentifier    = "print-identifier"
	OptStandardError = "standard-error"
)

var specs = []connectors.OptionSpec{
	{Key: OptIdentifier, Type: connectors.OptString,
		Description: "A prefix for every line, to tell the output of several print tables apart."},
	{Key: OptStandardError, Type: connectors.OptBool, Default: "false",
		Description: "Print to standard error instead of standard output."},
}

// Factory makes print sinks writing to its two writers.
type Factory struct {
	stdout, stderr io.Writer
	mu             sync.Mutex // held while a batch's lines are written
}

var (
	_ connectors.SinkFactory    = (*Factory)(nil)
	_ connectors.TableValidator = (*Factory)(nil)
	_ connectors.UpdatingSink   = (*Factory)(nil)
)

// AcceptsUpdates accepts every updating stream: each line shows its row's
// kind (+I, -U, +U, -D).
func (f *Factory) AcceptsUpdates(info connectors.TableInfo) error { return nil }

// New returns a print factory that writes to stdout, or to stderr for
// tables with 'standard-error' = 'true'.
func New(stdout, stderr io.Writer) *Factory { return &Factory{stdout: stdout, stderr: stderr} }

// Name returns "print".
func (*Factory) Name() string { return "print" }

// Options lists the connector's options.
func (*Factory) Options() []connectors.OptionSpec { return specs }

// ValidateTable checks the options and column types.
func (*Factory) ValidateTable(info connectors.TableInfo) error {
	if err := connectors.ValidateOptions(specs, info.Options); err != nil {
		return err
	}
	return format.CheckColumnTypes(info.Schema)
}

// Sink is a table being printed.
type Sink struct {
	f      *Factory
	schema types.Schema
	ident  string
	out    io.Writer
}

// NewSink validates the table and returns its sink.
func (f *Factory) NewSink(info connectors.TableInfo) (connectors.Sink, error) {
	if err := f.ValidateTable(info); err != nil {
		return nil, fmt.Errorf("table '%s': %w", info.Name, err)
	}
	s := &Sink{f: f, schema: info.Schema, ident: info.Options[OptIdentifier], out: f.stdout}
	if v, _ := strconv.ParseBool(connectors.Option(specs, info.Options, OptStandardError)); v {
		s.out = f.stderr
	}
	return s, nil
}

// Writer returns the writer of subtask rc.Subtask.
func (s *Sink) Writer(ctx context.Context, rc connectors.ReaderContext) (connectors.Writer, error) {
	prefix := s.ident
	if rc.Parallelism > 1 {
		if prefix != "" {
			prefix += ":"
		}
		prefix += strconv.Itoa(rc.Subtask + 1)
	}
	if prefix != "" {
		prefix += "> "
	}
	return &Writer{s: s, prefix: []byte(prefix)}, nil
}

// Writer prints one subtask's rows.
type Writer struct {
	s      *Sink
	prefix []byte
	buf    []byte
}

// Write prints b's rows.
func (w *Writer) Write(ctx context.Context, b stream.Batch) error {
	n := b.NumRows()
	if n == 0 {
		return nil
	}
	vs, err := format.ColumnValues(w.s.schema, b.Record)
	if err != nil {
		return fmt.Errorf("print: %w", err)
	}
	buf := w.buf[:0]
	for i := 0; i < n; i++ {
		buf = append(buf, w.prefix...)
		buf = append(buf, b.Kind(i).String()...)
		buf = append(buf, '[')
		for c := range vs {
			if c > 0 {
				buf = append(buf, ", "...)
			}
			if vs[c].IsNull(i) {
				buf = append(buf, "null"...)
				continue
			}
			buf = vs[c].AppendText(buf, i, false)
		}
		buf = append(buf, "]\n"...)
	}
	w.buf = buf
	w.s.f.mu.Lock()
	_, err = w.s.out.Write(buf)
	w.s.f.mu.Unlock()
	if err != nil {
		return fmt.Errorf("print: %w", err)
	}
	return nil
}

// Close does nothing: every batch was written whole.
func (w *Writer) Close(ctx context.Context) error { return nil }

// Abort does nothing: printed lines cannot be taken back.
func (w *Writer) Abort(ctx context.Context) error { return nil }
