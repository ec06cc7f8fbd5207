package filesystem

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
)

// DefaultPartitionName is the directory value of a NULL or empty partition
// value (Flink's and Hive's 'partition.default-name').
const DefaultPartitionName = "__DEFAULT_PARTITION__"

// escapeSet holds the bytes Flink's (and Hive's) partition paths escape as
// %XX: control characters, DEL and " # % ' * / : = ? \ { [ ] ^.
var escapeSet = func() (s [256]bool) {
	for c := 0; c < ' '; c++ {
		s[c] = true
	}
	for _, c := range "\"#%'*/:=?\\\x7f{[]^" {
		s[c] = true
	}
	return s
}()

// EscapePartitionValue escapes a partition value for a directory name as
// Flink's PartitionPathUtils.escapePathName does.
func EscapePartitionValue(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if escapeSet[c] {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// UnescapePartitionValue reverses EscapePartitionValue: %XX with two hex
// digits is the byte XX; any other '%' is itself.
func UnescapePartitionValue(v string) string {
	if !strings.Contains(v, "%") {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '%' && i+2 < len(v) {
			if n, err := strconv.ParseUint(v[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 2
				continue
			}
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// partitionDirs returns, for each row of rec (the table's full schema),
// the relative directory of its partition: k1=v1/k2=v2/... with the values
// escaped, and a NULL or empty value as the default partition name. The
// text of each key column is built a column at a time.
func (c *config) partitionDirs(rec arrow.RecordBatch) ([]string, error) {
	n := int(rec.NumRows())
	dirs := make([]string, n)
	for k, col := range c.partKeys {
		name := c.schema.Fields[col].Name
		prefix := EscapePartitionValue(name) + "="
		a := rec.Column(col)
		var text func(i int) string
		switch x := a.(type) {
		case *array.String:
			text = x.Value
		case *array.Int32:
			text = func(i int) string { return strconv.FormatInt(int64(x.Value(i)), 10) }
		case *array.Int64:
			text = func(i int) string { return strconv.FormatInt(x.Value(i), 10) }
		default:
			return nil, fmt.Errorf("partition column '%s' is %s, not STRING, INT or BIGINT", name, a.DataType())
		}
		for i := range n {
			v := c.defaultPartition
			if a.IsValid(i) {
				if t := text(i); t != "" {
					v = EscapePartitionValue(t)
				}
			}
			if k == 0 {
				dirs[i] = prefix + v
			} else {
				dirs[i] += "/" + prefix + v
			}
		}
	}
	return dirs, nil
}

// dataColumns returns rec's columns that are stored in the files (those
// not partition keys) as a record of the data schema.
func (c *config) dataColumns(rec arrow.RecordBatch) arrow.RecordBatch {
	if len(c.partKeys) == 0 {
		rec.Retain()
		return rec
	}
	cols := make([]arrow.Array, len(c.dataIdx))
	for i, j := range c.dataIdx {
		cols[i] = rec.Column(j)
	}
	return array.NewRecordBatch(c.dataSchema.Arrow(), cols, rec.NumRows())
}

// take gathers the rows of rec at indices, in that order.
func take(ctx context.Context, alloc memory.Allocator, rec arrow.RecordBatch, indices []int32) (arrow.RecordBatch, error) {
	ec := compute.DefaultExecCtx()
	ec.NumParallel = 1
	tctx := compute.SetExecCtx(compute.WithAllocator(ctx, alloc), ec)
	buf := memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(indices))
	data := array.NewData(arrow.PrimitiveTypes.Int32, len(indices), []*memory.Buffer{nil, buf}, nil, 0, 0)
	defer data.Release()
	out, err := compute.Take(tctx, *compute.DefaultTakeOptions(), &compute.RecordDatum{Value: rec}, &compute.ArrayDatum{Value: data})
	if err != nil {
		return nil, fmt.Errorf("gathering a partition's rows: %w", err)
	}
	rd, ok := out.(*compute.RecordDatum)
	if !ok {
		out.Release()
		return nil, fmt.Errorf("gathering a partition's rows: take returned %s, not a record", out.Kind())
	}
	return rd.Value, nil
}

// partitionValues reads the partition values of a file from its path
// relative to the table's directory: the directories k1=v1/.../kn=vn
// (the partition keys, in order) that hold it. Values are unescaped; the
// default partition name reads as NULL (ok false).
func (c *config) partitionValues(rel string) ([]string, []bool, error) {
	parts := strings.Split(filepath.ToSlash(filepath.Dir(rel)), "/")
	if len(parts) != len(c.partKeys) || parts[0] == "." {
		return nil, nil, fmt.Errorf("file '%s' is not in a partition directory %s of table '%s'", rel, c.partitionPattern(), c.table)
	}
	vals := make([]string, len(parts))
	valid := make([]bool, len(parts))
	for i, p := range parts {
		name := c.schema.Fields[c.partKeys[i]].Name
		k, v, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(UnescapePartitionValue(k), name) {
			return nil, nil, fmt.Errorf("file '%s' is not in a partition directory %s of table '%s': '%s' is not %s=...", rel, c.partitionPattern(), c.table, p, name)
		}
		if v == c.defaultPartition {
			continue
		}
		vals[i], valid[i] = UnescapePartitionValue(v), true
	}
	return vals, valid, nil
}

func (c *config) partitionPattern() string {
	var ps []string
	for _, k := range c.partKeys {
		ps = append(ps, c.schema.Fields[k].Name+"=...")
	}
	return strings.Join(ps, "/")
}

// constantColumn returns n copies of a partition value of type t (NULL
// when !valid); rel names the file in errors.
func constantColumn(alloc memory.Allocator, t types.Type, name, v string, valid bool, n int, rel string) (arrow.Array, error) {
	if !valid {
		return array.MakeArrayOfNull(alloc, t.Arrow(), n), nil
	}
	switch t.Kind {
	case types.String:
		b := array.NewStringBuilder(alloc)
		defer b.Release()
		b.ReserveData(len(v) * n)
		b.Reserve(n)
		for range n {
			b.Append(v)
		}
		return b.NewArray(), nil
	case types.Int, types.BigInt:
		bits := 64
		if t.Kind == types.Int {
			bits = 32
		}
		x, err := strconv.ParseInt(strings.TrimSpace(v), 10, bits)
		if err != nil {
			return nil, fmt.Errorf("file '%s': partition column '%s' is %s, but its directory holds '%s'", rel, name, t, v)
		}
		if t.Kind == types.Int {
			vals := make([]int32, n)
			for i := range vals {
				vals[i] = int32(x)
			}
			b := array.NewInt32Builder(alloc)
			defer b.Release()
			b.AppendValues(vals, nil)
			return b.NewArray(), nil
		}
		vals := make([]int64, n)
		for i := range vals {
			vals[i] = x
		}
		b := array.NewInt64Builder(alloc)
		defer b.Release()
		b.AppendValues(vals, nil)
		return b.NewArray(), nil
	}
	return nil, fmt.Errorf("partition column '%s' has type %s, not STRING, INT or BIGINT", name, t)
}

// withPartitions returns the table's row batch made of data (the data
// schema's columns) and the partition values of the file it came from.
// It releases data.
func (c *config) withPartitions(alloc memory.Allocator, data arrow.RecordBatch, vals []string, valid []bool, rel string) (arrow.RecordBatch, error) {
	defer data.Release()
	n := int(data.NumRows())
	cols := make([]arrow.Array, len(c.schema.Fields))
	release := func() {
		for _, a := range cols {
			if a != nil {
				a.Release()
			}
		}
	}
	for i, j := range c.dataIdx {
		cols[j] = data.Column(i)
		cols[j].Retain()
	}
	for k, j := range c.partKeys {
		f := c.schema.Fields[j]
		a, err := constantColumn(alloc, f.Type, f.Name, vals[k], valid[k], n, rel)
		if err != nil {
			release()
			return nil, err
		}
		if f.Type.NotNull && !valid[k] {
			a.Release()
			release()
			return nil, fmt.Errorf("file '%s': partition column '%s' is NOT NULL, but its directory holds the default partition name '%s'", rel, f.Name, c.defaultPartition)
		}
		cols[j] = a
	}
	rec := array.NewRecordBatch(c.schema.Arrow(), cols, int64(n))
	release()
	return rec, nil
}
