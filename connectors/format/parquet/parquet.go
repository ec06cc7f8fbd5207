package parquet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/eddy-streaming/eddy/engine/types"
)

// Extension is the file name extension of Parquet files, without a dot.
const Extension = "parquet"

// MaxRowGroupRows is the most rows a Writer puts in one row group.
const MaxRowGroupRows = 128 * 1024

// Compressions are the codecs a Writer accepts, by their option value.
var Compressions = []string{"snappy", "zstd", "gzip", "uncompressed"}

// ParseCompression returns the codec called name (any case), one of
// Compressions.
func ParseCompression(name string) (compress.Compression, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "snappy", "":
		return compress.Codecs.Snappy, nil
	case "zstd":
		return compress.Codecs.Zstd, nil
	case "gzip":
		return compress.Codecs.Gzip, nil
	case "uncompressed", "none":
		return compress.Codecs.Uncompressed, nil
	}
	return 0, fmt.Errorf("unknown Parquet compression '%s' (supported: %s)", name, strings.Join(Compressions, ", "))
}

// WriterOptions configure a Writer.
type WriterOptions struct {
	// Compression is the codec of every column (the zero value is
	// uncompressed; ParseCompression gives the others).
	Compression compress.Compression
	// Alloc allocates the writer's buffers (nil: the default allocator).
	Alloc memory.Allocator
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Writer writes record batches of one schema into a Parquet file.
type Writer struct {
	schema *arrow.Schema
	out    *countingWriter
	fw     *pqarrow.FileWriter
	rows   int64
	// buffered estimates the bytes of the row group held in memory: the
	// Arrow size of the batches written since the file last grew.
	buffered int64
	flushedN int64 // out.n when buffered was last reset
}

// NewWriter starts a Parquet file of the given schema on w. Close writes
// its footer; w itself is not closed.
func NewWriter(w io.Writer, schema types.Schema, opts WriterOptions) (*Writer, error) {
	alloc := opts.Alloc
	if alloc == nil {
		alloc = memory.DefaultAllocator
	}
	for _, f := range schema.Fields {
		if err := checkType(f); err != nil {
			return nil, err
		}
	}
	as := schema.Arrow()
	out := &countingWriter{w: w}
	props := pq.NewWriterProperties(pq.WithCompression(opts.Compression), pq.WithAllocator(alloc),
		pq.WithMaxRowGroupLength(MaxRowGroupRows), pq.WithCreatedBy("eddy"))
	fw, err := pqarrow.NewFileWriter(as, out, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(alloc)))
	if err != nil {
		return nil, fmt.Errorf("parquet: starting a file: %w", err)
	}
	return &Writer{schema: as, out: out, fw: fw}, nil
}

// checkType refuses the types Parquet files do not carry here.
func checkType(f types.Field) error {
	switch f.Type.Kind {
	case types.Boolean, types.Int, types.BigInt, types.Double, types.Decimal, types.String, types.Timestamp:
		return nil
	}
	return fmt.Errorf("parquet: column '%s' has type %s, which the Parquet format does not support", f.Name, f.Type)
}

// Write appends rec's rows (its columns in the writer's schema order and
// types) to the buffered row group.
func (w *Writer) Write(rec arrow.RecordBatch) error {
	if rec.NumRows() == 0 {
		return nil
	}
	if int(rec.NumCols()) != w.schema.NumFields() {
		return fmt.Errorf("parquet: a batch of %d columns for a file of %d", rec.NumCols(), w.schema.NumFields())
	}
	for i, c := range rec.Columns() {
		if !arrow.TypeEqual(c.DataType(), w.schema.Field(i).Type) {
			return fmt.Errorf("parquet: column '%s' is %s, the file's is %s", w.schema.Field(i).Name, c.DataType(), w.schema.Field(i).Type)
		}
	}
	// The same columns under the writer's schema (names and nullability).
	r := array.NewRecordBatch(w.schema, rec.Columns(), rec.NumRows())
	defer r.Release()
	if err := w.fw.WriteBuffered(r); err != nil {
		return fmt.Errorf("parquet: writing: %w", err)
	}
	w.rows += rec.NumRows()
	if w.out.n != w.flushedN {
		w.flushedN, w.buffered = w.out.n, 0
	}
	w.buffered += arrowSize(rec)
	return nil
}

// arrowSize estimates the bytes of rec's columns: their buffers, in the
// proportion of the rows a slice covers.
func arrowSize(rec arrow.RecordBatch) int64 {
	var n int64
	for _, c := range rec.Columns() {
		d := c.Data()
		var b int64
		for _, buf := range d.Buffers() {
			if buf != nil {
				b += int64(buf.Len())
			}
		}
		if d.Offset() > 0 {
			b = b * int64(d.Len()) / int64(d.Len()+d.Offset())
		}
		n += b
	}
	return n
}

// Rows returns the number of rows written.
func (w *Writer) Rows() int64 { return w.rows }

// Size estimates the file's size so far: the bytes written plus the
// Arrow size of the buffered row group (uncompressed, so an upper bound).
func (w *Writer) Size() int64 {
	if w.out.n != w.flushedN {
		return w.out.n
	}
	return w.out.n + w.buffered
}

// Abort releases the writer's buffers without writing anything more (the
// file is left incomplete, for the caller to delete).
func (w *Writer) Abort() {
	w.out.w = io.Discard
	_ = w.fw.Close()
}

// Close writes the buffered row group and the footer.
func (w *Writer) Close() error {
	if err := w.fw.Close(); err != nil {
		return fmt.Errorf("parquet: closing: %w", err)
	}
	return nil
}

// File is a Parquet file opened for reading into a table's columns.
type File struct {
	path   string
	f      *os.File
	pf     *file.Reader
	fr     *pqarrow.FileReader
	schema types.Schema
	out    *arrow.Schema
	// cols: per table column, the index of the file's column read into it,
	// or -1 for a column the file lacks (NULL).
	cols  []int
	read  []int // the file's columns read, in file order
	alloc memory.Allocator
	batch int64
}

// Open opens the Parquet file at path to read schema's columns from it,
// batch rows at a time. It checks the columns (see the package doc);
// errors name the file and the column.
func Open(path string, schema types.Schema, batch int, alloc memory.Allocator) (*File, error) {
	if alloc == nil {
		alloc = memory.DefaultAllocator
	}
	if batch <= 0 {
		batch = 4096
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	pf, err := file.NewParquetReader(f, file.WithReadProps(pq.NewReaderProperties(alloc)))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("'%s' is not a readable Parquet file: %w", path, err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: int64(batch)}, alloc)
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("'%s': reading its schema: %w", path, err)
	}
	fs, err := fr.Schema()
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("'%s': reading its schema: %w", path, err)
	}
	p := &File{path: path, f: f, pf: pf, fr: fr, schema: schema, out: schema.Arrow(), alloc: alloc, batch: int64(batch)}
	for _, col := range schema.Fields {
		idx := fs.FieldIndices(col.Name)
		if len(idx) == 0 {
			for i, ff := range fs.Fields() {
				if strings.EqualFold(ff.Name, col.Name) {
					idx = append(idx, i)
				}
			}
		}
		switch {
		case len(idx) > 1:
			pf.Close()
			return nil, fmt.Errorf("'%s': column '%s' is in the file %d times", path, col.Name, len(idx))
		case len(idx) == 0:
			if col.Type.NotNull {
				pf.Close()
				return nil, fmt.Errorf("'%s': the file has no column '%s', which is NOT NULL", path, col.Name)
			}
			p.cols = append(p.cols, -1)
			continue
		}
		ft := fs.Field(idx[0]).Type
		if !compatible(ft, col.Type.Arrow()) {
			pf.Close()
			return nil, fmt.Errorf("'%s': column '%s' has type %s in the file, but the table declares %s (%s)", path, col.Name, ft, col.Type, col.Type.Arrow())
		}
		p.cols = append(p.cols, idx[0])
	}
	seen := map[int]bool{}
	for _, c := range p.cols {
		if c >= 0 && !seen[c] {
			seen[c] = true
			p.read = append(p.read, c)
		}
	}
	sortInts(p.read)
	return p, nil
}

// compatible reports whether a file column of type ft can be read as want:
// the same type, or a millisecond timestamp with any time zone.
func compatible(ft, want arrow.DataType) bool {
	if arrow.TypeEqual(ft, want) {
		return true
	}
	a, ok1 := ft.(*arrow.TimestampType)
	b, ok2 := want.(*arrow.TimestampType)
	return ok1 && ok2 && a.Unit == b.Unit
}

func sortInts(s []int) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// Path returns the file's path.
func (p *File) Path() string { return p.path }

// NumRows returns the number of rows in the file.
func (p *File) NumRows() int64 { return p.pf.NumRows() }

// Close closes the file.
func (p *File) Close() error {
	if p.pf == nil {
		return nil
	}
	err := p.pf.Close() // closes p.f too
	p.pf = nil
	return err
}

// Rows reads the file's rows from row from on.
func (p *File) Rows(ctx context.Context, from int64) (*Rows, error) {
	r := &Rows{file: p, row: from}
	n := p.NumRows()
	if from >= n || len(p.read) == 0 {
		r.total = n
		return r, nil
	}
	rr, err := p.fr.GetRecordReader(ctx, p.read, nil)
	if err != nil {
		return nil, fmt.Errorf("'%s': %w", p.path, err)
	}
	if from > 0 {
		if err := rr.SeekToRow(from); err != nil {
			rr.Release()
			return nil, fmt.Errorf("'%s': seeking to row %d: %w", p.path, from, err)
		}
	}
	r.rr, r.total = rr, n
	return r, nil
}

// Rows reads a File's rows in order.
type Rows struct {
	file  *File
	rr    pqarrow.RecordReader
	row   int64 // rows returned so far, counted from the file's start
	total int64
}

// Row returns the index of the next row Next returns.
func (r *Rows) Row() int64 { return r.row }

// Next returns the next batch of rows in the table's schema (the caller
// owns it), or io.EOF after the last.
func (r *Rows) Next() (arrow.RecordBatch, error) {
	if r.row >= r.total {
		return nil, io.EOF
	}
	p := r.file
	if r.rr == nil {
		// The file holds none of the table's columns: only NULLs.
		n := min(p.batch, r.total-r.row)
		cols := make([]arrow.Array, len(p.cols))
		for i, f := range p.out.Fields() {
			cols[i] = array.MakeArrayOfNull(p.alloc, f.Type, int(n))
		}
		r.row += n
		return buildRecord(p.out, cols, n), nil
	}
	rec, err := r.rr.Read()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("'%s': reading rows from %d: %w", p.path, r.row, err)
	}
	if rec == nil || rec.NumRows() == 0 {
		return nil, fmt.Errorf("'%s': the file ends at row %d of the %d its footer counts", p.path, r.row, r.total)
	}
	n := rec.NumRows()
	cols := make([]arrow.Array, len(p.cols))
	for i, c := range p.cols {
		f := p.out.Field(i)
		if c < 0 {
			cols[i] = array.MakeArrayOfNull(p.alloc, f.Type, int(n))
			continue
		}
		src := rec.Column(indexOf(p.read, c))
		if arrow.TypeEqual(src.DataType(), f.Type) {
			src.Retain()
			cols[i] = src
		} else {
			// A timestamp of another time zone: the same values.
			d := array.NewData(f.Type, src.Len(), src.Data().Buffers(), nil, src.NullN(), src.Data().Offset())
			cols[i] = array.MakeFromData(d)
			d.Release()
		}
		if !f.Nullable && cols[i].NullN() > 0 {
			for _, a := range cols {
				if a != nil {
					a.Release()
				}
			}
			return nil, fmt.Errorf("'%s': column '%s' is NOT NULL in the table, but the file has NULLs in rows %d to %d", p.path, f.Name, r.row, r.row+n-1)
		}
	}
	r.row += n
	return buildRecord(p.out, cols, n), nil
}

func indexOf(s []int, v int) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// buildRecord makes a record of cols and releases them (the record holds
// its own references).
func buildRecord(schema *arrow.Schema, cols []arrow.Array, n int64) arrow.RecordBatch {
	rec := array.NewRecordBatch(schema, cols, n)
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// Close releases the reader.
func (r *Rows) Close() {
	if r.rr != nil {
		r.rr.Release()
		r.rr = nil
	}
}
