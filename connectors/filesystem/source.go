package filesystem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/format"
	"github.com/eddy-streaming/eddy/connectors/format/parquet"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
)

const (
	// readChunk is how much a reader reads from a file at a time.
	readChunk = 1 << 20
	// maxRecord bounds one record (a quoted CSV field that never closes
	// would otherwise swallow the whole file).
	maxRecord = 64 << 20
	// defaultBatch is the batch size when the runtime sets none.
	defaultBatch = 4096
)

type file struct {
	path string
	size int64
	// The partition values of a partitioned table's file (from its
	// directories; valid false: NULL) and its path relative to the
	// table's directory.
	rel   string
	vals  []string
	valid []bool
}

// Source is a table being read from files.
type Source struct {
	cfg   *config
	files []file
}

var _ connectors.Source = (*Source)(nil)

// NewSource lists the files of the table's path.
func (f *Factory) NewSource(info connectors.TableInfo) (connectors.Source, error) {
	cfg, err := parseConfig(info)
	if err != nil {
		return nil, fmt.Errorf("table '%s': %w", info.Name, err)
	}
	if cfg.monitor > 0 {
		return nil, fmt.Errorf("table '%s': option '%s' makes the source continuous, which is read as splits (connectors.SplitSourceFactory), but this runtime asked for a plain source", info.Name, OptMonitorInterval)
	}
	files, err := cfg.listFiles()
	if err != nil {
		return nil, fmt.Errorf("table '%s': %w", info.Name, err)
	}
	return &Source{cfg: cfg, files: files}, nil
}

// listFiles lists the table's files, with their partition values.
func (c *config) listFiles() ([]file, error) {
	files, err := listFiles(c.path)
	if err != nil {
		return nil, err
	}
	for i := range files {
		if err := c.describe(&files[i]); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// describe sets f's partition values from its path.
func (c *config) describe(f *file) error {
	if len(c.partKeys) == 0 {
		return nil
	}
	rel, err := filepath.Rel(c.path, f.path)
	if err != nil {
		return fmt.Errorf("file '%s': %w", f.path, err)
	}
	f.rel = rel
	f.vals, f.valid, err = c.partitionValues(rel)
	return err
}

func hidden(name string) bool { return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") }

// listFiles returns path itself if it is a file, or every visible file
// under it, sorted by path.
func listFiles(path string) ([]file, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("option 'path': %w", err)
	}
	if !st.IsDir() {
		return []file{{path: path, size: st.Size()}}, nil
	}
	var files []file
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == path {
			return nil
		}
		if hidden(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while listing
			}
			return err
		}
		if info.Mode().IsRegular() {
			files = append(files, file{path: p, size: info.Size()})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing '%s': %w", path, err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	return files, nil
}

// Bounded reports true: files end.
func (s *Source) Bounded() bool { return true }

// piece is the byte range [start, end) of one file that a reader owns: the
// records that begin inside it.
type piece struct {
	file
	start, end int64
}

// pieces cuts the files, laid end to end, into parallelism equal byte
// ranges and returns those of subtask.
func pieces(files []file, subtask, parallelism int) []piece {
	var total int64
	for _, f := range files {
		total += f.size
	}
	lo := cut(total, subtask, parallelism)
	hi := cut(total, subtask+1, parallelism)
	var out []piece
	var off int64
	for _, f := range files {
		a, b := max(lo, off), min(hi, off+f.size)
		if a < b {
			out = append(out, piece{file: f, start: a - off, end: b - off})
		}
		off += f.size
	}
	return out
}

// writerPieces returns the whole files subtask reads of a changelog
// table: the part files of one writer (part-<s>-<counter> in one directory)
// all go to one reader, in name order, which is the order their changes
// were written in; any other file is a writer of its own. Writers are dealt
// to the readers largest first, each to the reader with the fewest bytes.
func writerPieces(files []file, subtask, parallelism int) []piece {
	type group struct {
		files []file
		size  int64
	}
	var groups []*group
	byWriter := map[string]*group{}
	for _, f := range files {
		id := f.path
		if w, ok := writerOf(f.path); ok {
			id = w
		}
		g := byWriter[id]
		if g == nil {
			g = &group{}
			byWriter[id] = g
			groups = append(groups, g)
		}
		g.files = append(g.files, f)
		g.size += f.size
	}
	sort.SliceStable(groups, func(i, j int) bool { return groups[i].size > groups[j].size })
	load := make([]int64, parallelism)
	var out []piece
	for _, g := range groups {
		least := 0
		for i, l := range load {
			if l < load[least] {
				least = i
			}
		}
		load[least] += g.size
		if least != subtask {
			continue
		}
		for _, f := range g.files {
			out = append(out, piece{file: f, start: 0, end: f.size})
		}
	}
	return out
}

// writerOf returns the writer a part file name names: its directory and
// "part-<subtask>-".
func writerOf(path string) (string, bool) {
	dir, name := filepath.Split(path)
	rest, ok := strings.CutPrefix(name, "part-")
	if !ok {
		return "", false
	}
	sub, _, ok := strings.Cut(rest, "-")
	if !ok || sub == "" || strings.Trim(sub, "0123456789") != "" {
		return "", false
	}
	return dir + "part-" + sub + "-", true
}

func cut(total int64, i, n int) int64 {
	// total*i/n without overflow for any realistic size.
	return total/int64(n)*int64(i) + total%int64(n)*int64(i)/int64(n)
}

// Reader opens the reader of subtask rc.Subtask.
func (s *Source) Reader(ctx context.Context, rc connectors.ReaderContext) (connectors.Reader, error) {
	if rc.Parallelism < 1 || rc.Subtask < 0 || rc.Subtask >= rc.Parallelism {
		return nil, fmt.Errorf("table '%s': reader %d of %d does not exist", s.cfg.table, rc.Subtask, rc.Parallelism)
	}
	var ps []piece
	switch {
	case s.cfg.changelog():
		ps = writerPieces(s.files, rc.Subtask, rc.Parallelism)
	case s.cfg.format == FormatParquet:
		ps = wholePieces(s.files, rc.Subtask, rc.Parallelism)
	default:
		ps = pieces(s.files, rc.Subtask, rc.Parallelism)
	}
	return newReader(s.cfg, rc, ps), nil
}

// newReader makes a reader of the pieces ps.
func newReader(cfg *config, rc connectors.ReaderContext, ps []piece) *Reader {
	r := &Reader{
		cfg:     cfg,
		rc:      rc,
		pieces:  ps,
		dec:     cfg.decoder(),
		builder: format.NewBuilder(cfg.dataSchema),
		batch:   rc.BatchSize,
		alloc:   rc.Alloc,
		logger:  rc.Logger,
	}
	if r.batch <= 0 {
		r.batch = defaultBatch
	}
	r.kindDec, _ = r.dec.(format.ChangelogDecoder)
	if !cfg.changelog() {
		r.kindDec = nil
	}
	if r.alloc == nil {
		r.alloc = memory.DefaultAllocator
	}
	if r.logger == nil {
		r.logger = slog.Default()
	}
	if cfg.ignore && rc.Metrics != nil {
		r.skippedCounter = rc.Metrics.Counter("bad_records_skipped", "Records the source skipped because they could not be parsed.")
	}
	r.perPiece = len(cfg.partKeys) > 0
	return r
}

// wholePieces deals whole files (Parquet files, which are read by rows
// rather than cut by bytes) to the readers, largest first, each to the
// reader with the fewest bytes, and returns those of subtask. A piece's
// range is then a range of rows, to the file's end.
func wholePieces(files []file, subtask, parallelism int) []piece {
	order := make([]int, len(files))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return files[order[a]].size > files[order[b]].size })
	load := make([]int64, parallelism)
	mine := map[int]bool{}
	for _, i := range order {
		least := 0
		for j, l := range load {
			if l < load[least] {
				least = j
			}
		}
		load[least] += files[i].size + 1
		if least == subtask {
			mine[i] = true
		}
	}
	var out []piece
	for i, f := range files {
		if mine[i] {
			out = append(out, piece{file: f, start: 0, end: toEnd})
		}
	}
	return out
}

// toEnd is the end of a piece that runs to its file's end.
const toEnd = math.MaxInt64

// Reader reads one subtask's share of the files.
type Reader struct {
	cfg    *config
	rc     connectors.ReaderContext
	pieces []piece
	next   int // index of the next piece to open
	dec    format.Decoder
	// kindDec is dec when the format carries row kinds (changelog-json);
	// kinds then holds the kinds of the rows in builder.
	kindDec format.ChangelogDecoder
	kinds   []stream.RowKind
	framing format.Framing
	builder *format.Builder
	batch   int
	alloc   memory.Allocator
	logger  *slog.Logger

	// The open piece.
	f   *os.File
	p   piece
	buf []byte
	lo  int   // buf[lo:hi] is unread data
	hi  int   //
	eof bool  // the file has no more data past buf[hi]
	pos int64 // file offset of buf[lo], a record start
	// Line numbers: recLine is the line of the last record returned,
	// relative to the first record of the piece; base is the number of
	// newlines before that first record, once known.
	line      int64
	recLine   int64
	base      int64
	baseKnown bool
	alignFrom int64 // where the piece's alignment scan began
	alignNL   int64 // newlines the alignment scan passed

	skipped        int64
	firstSkip      error
	skippedCounter operator.Counter
	done           bool
	reported       bool

	// perPiece makes every batch hold rows of one piece (of one file):
	// a partitioned table adds the file's partition values to them.
	perPiece bool
	boundary bool // nextRecord stopped at the end of a piece
	// The open Parquet piece.
	pf    *parquet.File
	prows *parquet.Rows
	// restored holds, per file, the ranges the positions a restored reader
	// was opened with had read; Position reports them on.
	restored map[string][][2]int64
}

var (
	_ connectors.Reader          = (*Reader)(nil)
	_ connectors.ChangelogReader = (*Reader)(nil)
)

// NextBatch is Next with the rows' kinds: those of a changelog-json file's
// lines, nil (all +I) for csv and json.
func (r *Reader) NextBatch(ctx context.Context) (stream.Batch, error) {
	rec, err := r.Next(ctx)
	if err != nil || rec == nil {
		return stream.Batch{}, err
	}
	b := stream.Batch{Record: rec}
	if r.kindDec != nil {
		b.Kinds, r.kinds = r.kinds, nil
	}
	return b, nil
}

// Next returns the next batch of at most BatchSize rows, or io.EOF. For a
// changelog-json table it drops the rows' kinds: the runtime calls
// NextBatch.
func (r *Reader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	var data arrow.RecordBatch
	var err error
	if r.cfg.format == FormatParquet {
		data, err = r.nextParquet(ctx)
	} else {
		data, err = r.nextText(ctx)
	}
	if err != nil || len(r.cfg.partKeys) == 0 {
		return data, err
	}
	rec, err := r.cfg.withPartitions(r.alloc, data, r.p.vals, r.p.valid, r.p.rel)
	if err != nil {
		return nil, fmt.Errorf("table '%s': %w", r.cfg.table, err)
	}
	return rec, nil
}

// nextParquet returns the next batch of the open Parquet piece, opening
// the next piece when it ends.
func (r *Reader) nextParquet(ctx context.Context) (arrow.RecordBatch, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if r.prows == nil {
			if r.next >= len(r.pieces) {
				r.done = true
				return nil, io.EOF
			}
			p := r.pieces[r.next]
			r.next++
			pf, err := parquet.Open(p.path, r.cfg.dataSchema, r.batch, r.alloc)
			if err != nil {
				return nil, fmt.Errorf("table '%s': %w", r.cfg.table, err)
			}
			rows, err := pf.Rows(ctx, p.start)
			if err != nil {
				pf.Close()
				return nil, fmt.Errorf("table '%s': %w", r.cfg.table, err)
			}
			r.pf, r.prows, r.p, r.pos = pf, rows, p, p.start
		}
		if r.pos >= r.p.end {
			if err := r.closeParquet(); err != nil {
				return nil, err
			}
			continue
		}
		rec, err := r.prows.Next()
		if errors.Is(err, io.EOF) {
			if err := r.closeParquet(); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("table '%s': %w", r.cfg.table, err)
		}
		n := rec.NumRows()
		if over := r.pos + n - r.p.end; over > 0 && r.p.end != toEnd {
			cut := rec.NewSlice(0, n-over)
			rec.Release()
			rec, n = cut, n-over
		}
		r.pos += n
		return rec, nil
	}
}

func (r *Reader) closeParquet() error {
	if r.prows == nil {
		return nil
	}
	r.prows.Close()
	err := r.pf.Close()
	r.prows, r.pf = nil, nil
	if err != nil {
		return fmt.Errorf("table '%s': closing '%s': %w", r.cfg.table, r.p.path, err)
	}
	return nil
}

// nextText returns the next batch of a text format's rows.
func (r *Reader) nextText(ctx context.Context) (arrow.RecordBatch, error) {
	r.kinds = r.kinds[:0]
	for r.builder.Rows() < r.batch && !r.done {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec, ok, err := r.nextRecord()
		if err != nil {
			return nil, err
		}
		if !ok {
			if r.boundary {
				r.boundary = false
				break
			}
			r.done = true
			break
		}
		skip, err := r.dec.Decode(rec, r.builder)
		if err == nil && !skip && r.kindDec != nil {
			r.kinds = append(r.kinds, r.kindDec.Kind())
		}
		if err != nil {
			loc := fmt.Sprintf("%s:%d", r.p.path, r.lineOf(r.recLine))
			if !r.cfg.ignore {
				bad := connectors.BadRecord{Location: loc, Reason: err.Error(), Record: append([]byte(nil), rec...)}
				if herr := r.rc.BadRecordHandler().Handle(ctx, bad); herr != nil {
					return nil, herr
				}
				r.skipped++
				continue
			}
			full := fmt.Errorf("%s: %w", loc, err)
			r.skipped++
			if r.firstSkip == nil {
				r.firstSkip = full
			}
			if r.skippedCounter != nil {
				r.skippedCounter.Add(1)
			}
		}
	}
	if r.builder.Rows() == 0 {
		r.report()
		return nil, io.EOF
	}
	rec, err := r.builder.Build(r.alloc)
	if err != nil {
		return nil, fmt.Errorf("table '%s': %w", r.cfg.table, err)
	}
	return rec, nil
}

// report logs the skipped records once, when the reader ends.
func (r *Reader) report() {
	if r.reported || r.skipped == 0 || r.firstSkip == nil {
		return
	}
	r.reported = true
	r.logger.Warn("filesystem source skipped bad records",
		"table", r.cfg.table, "subtask", r.rc.Subtask, "skipped", r.skipped,
		"option", r.cfg.ignoreOption(), "first", r.firstSkip.Error())
}

// Skipped returns how many bad records the reader skipped so far.
func (r *Reader) Skipped() int64 { return r.skipped }

// Close closes the open file.
func (r *Reader) Close() error {
	r.report()
	r.builder.Rollback()
	return errors.Join(r.closeFile(), r.closeParquet())
}

// isOpen reports whether a piece is open.
func (r *Reader) isOpen() bool { return r.f != nil || r.prows != nil }

func (r *Reader) closeFile() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	if err != nil {
		return fmt.Errorf("closing '%s': %w", r.p.path, err)
	}
	return nil
}

// lineOf turns a piece-relative line into a 1-based file line.
func (r *Reader) lineOf(rel int64) int64 {
	if !r.baseKnown {
		n, err := scanPrefix(r.p.path, r.alignFrom, nil)
		if err != nil {
			return 0
		}
		r.base, r.baseKnown = n+r.alignNL, true
	}
	return r.base + rel + 1
}

// fill reads more of the file into buf, keeping buf[lo:hi].
func (r *Reader) fill() error {
	if r.lo > 0 {
		n := copy(r.buf, r.buf[r.lo:r.hi])
		r.lo, r.hi = 0, n
	}
	if r.hi == len(r.buf) {
		if len(r.buf) >= maxRecord {
			return fmt.Errorf("%s:%d: record longer than %d MiB (an unclosed quote?)", r.p.path, r.lineOf(r.line), maxRecord>>20)
		}
		nb := make([]byte, max(2*len(r.buf), readChunk))
		copy(nb, r.buf[:r.hi])
		r.buf = nb
	}
	n, err := r.f.Read(r.buf[r.hi:])
	r.hi += n
	if err == io.EOF {
		r.eof = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading '%s': %w", r.p.path, err)
	}
	return nil
}

// open opens piece p and positions the reader at its first record start.
func (r *Reader) open(p piece) error {
	f, err := os.Open(p.path)
	if err != nil {
		return fmt.Errorf("table '%s': %w", r.cfg.table, err)
	}
	r.f, r.p = f, p
	r.framing = r.dec.Framing()
	r.lo, r.hi, r.eof = 0, 0, false
	r.line, r.recLine, r.alignNL = 0, 0, 0
	if r.buf == nil {
		r.buf = make([]byte, readChunk)
	}
	if p.start == 0 {
		r.pos, r.base, r.baseKnown, r.alignFrom = 0, 0, true, 0
		return nil
	}
	// The piece starts inside the file: the first record that belongs to
	// it starts after the first record-ending newline at or after start-1.
	// For csv, whether a newline ends a record depends on the quoting
	// before it, so the reader follows the quotes from the file's start.
	fr := r.dec.Framing()
	from := p.start - 1
	r.alignFrom = from
	st := format.NewQuoteState(fr)
	r.baseKnown = false
	if fr.Quote != 0 {
		nl, err := scanPrefix(p.path, from, &st)
		if err != nil {
			return fmt.Errorf("table '%s': %w", r.cfg.table, err)
		}
		r.base, r.baseKnown = nl, true
	}
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return fmt.Errorf("table '%s': seeking in '%s': %w", r.cfg.table, p.path, err)
	}
	r.pos = from
	for {
		chunk := r.buf[r.lo:r.hi]
		if e := st.NextRecord(chunk); e >= 0 {
			r.alignNL += int64(bytes.Count(chunk[:e], newline))
			r.lo += e
			r.pos += int64(e)
			if r.baseKnown {
				r.base += r.alignNL
			}
			return nil
		}
		r.alignNL += int64(bytes.Count(chunk, newline))
		r.pos += int64(len(chunk))
		r.lo = r.hi
		if r.eof {
			return nil // r.pos is the file size: nothing to read
		}
		if err := r.fill(); err != nil {
			return err
		}
	}
}

var newline = []byte{'\n'}

// scanPrefix counts the newlines in the first n bytes of the file and, if
// st is not nil, moves st over them.
func scanPrefix(path string, n int64, st *format.QuoteState) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, readChunk)
	var newlines int64
	for n > 0 {
		k := min(int64(len(buf)), n)
		m, err := io.ReadFull(f, buf[:k])
		newlines += int64(bytes.Count(buf[:m], newline))
		if st != nil {
			st.Skip(buf[:m])
		}
		if err != nil {
			return 0, fmt.Errorf("reading '%s': %w", path, err)
		}
		n -= int64(m)
	}
	return newlines, nil
}

// nextRecord returns the next record of this reader's pieces.
func (r *Reader) nextRecord() ([]byte, bool, error) {
	for {
		if r.f == nil {
			if r.perPiece && r.builder.Rows() > 0 {
				// The rows built so far are the previous piece's.
				r.boundary = true
				return nil, false, nil
			}
			if r.next >= len(r.pieces) {
				return nil, false, nil
			}
			p := r.pieces[r.next]
			r.next++
			if err := r.open(p); err != nil {
				r.closeFile()
				return nil, false, err
			}
		}
		if r.pos >= r.p.end {
			if err := r.closeFile(); err != nil {
				return nil, false, err
			}
			continue
		}
		adv, rec, nl := format.SplitRecord(r.buf[r.lo:r.hi], r.eof, r.framing)
		if adv == 0 {
			if r.eof {
				if err := r.closeFile(); err != nil {
					return nil, false, err
				}
				continue
			}
			if err := r.fill(); err != nil {
				return nil, false, err
			}
			continue
		}
		r.recLine = r.line
		r.line += int64(nl)
		r.lo += adv
		r.pos += int64(adv)
		return rec, true, nil
	}
}
