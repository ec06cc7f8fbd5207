package filesystem

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/types"
)

// partSchema has its partition columns (h, dt) among the others.
var partSchema = types.Schema{Fields: []types.Field{
	{Name: "seq", Type: types.BigIntType},
	{Name: "dt", Type: types.StringType},
	{Name: "s", Type: types.StringType},
	{Name: "h", Type: types.IntType},
	{Name: "m", Type: types.DecimalType(18, 4)},
	{Name: "t", Type: types.TimestampType},
}}

// partKeys is PARTITIONED BY (h, dt).
var partKeys = []int{3, 1}

var dtValues = []any{"2015-07-15", "a/b", "x:y=z", "100%", "", nil, "é 中", "#?*", "q\"'[]{}^\\"}

// refEscape is the reference escaping: Hive's and Flink's list of
// characters written as %XX in partition paths.
func refEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c < 0x20 || c == 0x7f || strings.IndexByte("\"#%'*/:=?\\{[]^", c) >= 0 {
			b.WriteString("%" + strings.ToUpper(strconv.FormatInt(int64(c)+0x100, 16)[1:]))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// refDir is the reference partition directory of a row of partSchema.
func refDir(rw row) string {
	val := func(v any) string {
		switch v := v.(type) {
		case nil:
			return DefaultPartitionName
		case string:
			if v == "" {
				return DefaultPartitionName
			}
			return refEscape(v)
		case int32:
			return fmt.Sprint(v)
		}
		panic("type")
	}
	return "h=" + val(rw[3]) + "/dt=" + val(rw[1])
}

func partRows(r *rand.Rand, n int) []row {
	rows := randomRows(r, partSchema, n, 7)
	for i, rw := range rows {
		rw[0] = int64(i)
		rw[1] = dtValues[r.IntN(len(dtValues))]
		if r.IntN(6) == 0 {
			rw[3] = nil
		} else {
			rw[3] = int32(r.IntN(5) - 2)
		}
	}
	return rows
}

// dataOnly drops the partition columns of a partSchema row.
func dataOnly(rw row) row { return row{rw[0], rw[2], rw[4], rw[5]} }

var partDataSchema = types.Schema{Fields: []types.Field{partSchema.Fields[0], partSchema.Fields[2], partSchema.Fields[4], partSchema.Fields[5]}}

// TestPartitionedRoundTrip writes random rows into a table PARTITIONED BY
// (h, dt) in every format, with several writers and small files: each
// row's partition directory, escaped, holds exactly the rows of that
// partition (the reference grouping) without the partition columns, and
// the table read back (the values from the directory names; an empty string and NULL
// both as NULL) equals the input.
func TestPartitionedRoundTrip(t *testing.T) {
	seed := uint64(40)
	for _, shape := range []struct {
		format  string
		writers int
	}{{"csv", 3}, {"json", 2}, {"parquet", 1}, {"parquet", 3}} {
		format, writers := shape.format, shape.writers
		{
			seed++
			t.Run(fmt.Sprintf("%s/w%d", format, writers), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				r := rand.New(rand.NewPCG(seed, 7))
				dir := filepath.Join(t.TempDir(), "out")
				opts := map[string]string{"path": dir, "format": format, OptRollingFileSize: fmt.Sprint(500 + r.IntN(20000))}
				if format == "csv" {
					opts[OptCSVNullLiteral] = `\N`
				}
				info := table("t", partSchema, opts)
				info.PartitionKeys = partKeys
				f := New()
				if err := f.ValidateTable(info); err != nil {
					t.Fatal(err)
				}
				sink, err := f.NewSink(info)
				if err != nil {
					t.Fatal(err)
				}
				rows := partRows(r, 200+r.IntN(600))
				writeRows(t, sink, partSchema, rows, writers, r, mem)

				want := map[string][]string{}
				for _, rw := range rows {
					d := refDir(rw)
					want[d] = append(want[d], canonRow(dataOnly(rw)))
				}
				got := map[string]bool{}
				err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
					if err != nil || d.IsDir() {
						return err
					}
					rel, _ := filepath.Rel(dir, p)
					if _, _, inProgress, ok := partFile(d.Name()); !ok || inProgress {
						t.Fatalf("unexpected file %s after Close", rel)
					}
					got[filepath.ToSlash(filepath.Dir(rel))] = true
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				var gotDirs, wantDirs []string
				for d := range got {
					gotDirs = append(gotDirs, d)
				}
				for d := range want {
					wantDirs = append(wantDirs, d)
				}
				sort.Strings(gotDirs)
				sort.Strings(wantDirs)
				if strings.Join(gotDirs, "\n") != strings.Join(wantDirs, "\n") {
					t.Fatalf("partition directories:\n%s\nwant:\n%s", strings.Join(gotDirs, "\n"), strings.Join(wantDirs, "\n"))
				}
				// Each directory, read as a plain table of the data columns.
				for d, rowsWant := range want {
					popts := map[string]string{}
					for k, v := range opts {
						popts[k] = v
					}
					popts["path"] = filepath.Join(dir, filepath.FromSlash(d))
					src, err := f.NewSource(table("p", partDataSchema, popts))
					if err != nil {
						t.Fatal(err)
					}
					rs, errs := readAll(t, src, 1, r, mem, connectors.ReaderContext{})
					if errs[0] != nil {
						t.Fatal(errs[0])
					}
					var gs []string
					for _, rw := range rs {
						gs = append(gs, canonRow(rw))
					}
					sameMultiset(t, gs, rowsWant)
				}
				// The whole table, partition columns from the paths.
				var all []string
				for _, rw := range rows {
					exp := append(row(nil), rw...)
					if exp[1] == "" {
						exp[1] = nil
					}
					all = append(all, canonRow(exp))
				}
				readers := 1 + r.IntN(3)
				src, err := f.NewSource(info)
				if err != nil {
					t.Fatal(err)
				}
				rs, errs := readAll(t, src, readers, r, mem, connectors.ReaderContext{})
				for _, err := range errs {
					if err != nil {
						t.Fatal(err)
					}
				}
				var gs []string
				for _, rw := range rs {
					gs = append(gs, canonRow(rw))
				}
				sameMultiset(t, gs, all)
			})
		}
	}
}

// TestPartitionEscaping: escaping and unescaping are inverse on random
// strings, escaped values hold no character Flink escapes, and they match
// the reference.
func TestPartitionEscaping(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	for range 2000 {
		b := make([]byte, r.IntN(10))
		for i := range b {
			b[i] = byte(r.IntN(128))
		}
		s := string(b)
		e := EscapePartitionValue(s)
		if e != refEscape(s) {
			t.Fatalf("EscapePartitionValue(%q) = %q, want %q", s, e, refEscape(s))
		}
		if UnescapePartitionValue(e) != s {
			t.Fatalf("UnescapePartitionValue(%q) = %q, want %q", e, UnescapePartitionValue(e), s)
		}
	}
	if got := UnescapePartitionValue("50%-%zz%4"); got != "50%-%zz%4" {
		t.Errorf("a '%%' without two hex digits: %q", got)
	}
}

// TestPartitionErrors: configurations and directories that do not fit a
// partitioned table fail with errors that say what and where.
func TestPartitionErrors(t *testing.T) {
	f := New()
	dir := t.TempDir()
	base := map[string]string{"path": dir, "format": "csv"}
	two := types.Schema{Fields: []types.Field{{Name: "a", Type: types.StringType}, {Name: "b", Type: types.BigIntType}}}
	for _, c := range []struct {
		keys []int
		opts map[string]string
		want string
	}{
		{[]int{2}, base, ""},
		{[]int{4}, base, "partition column 'm' has type DECIMAL(18, 4); it must be STRING, INT or BIGINT"},
		{[]int{1, 0}, base, "every column is a partition column"},
		{[]int{1}, map[string]string{"path": dir, "format": "changelog-json"}, "PARTITIONED BY does not go with 'format' = 'changelog-json'"},
		{[]int{1}, map[string]string{"path": dir, "format": "csv", OptPartitionDefault: "a/b"}, "option 'partition.default-name'"},
	} {
		info := table("t", partSchema, c.opts)
		if len(c.keys) == 2 {
			info.Schema = two
		}
		info.PartitionKeys = c.keys
		err := f.ValidateTable(info)
		if (err == nil) != (c.want == "") || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("keys %v, %v: %v, want %q", c.keys, c.opts, err, c.want)
		}
	}
	info := table("t", partSchema, base)
	info.PartitionKeys = partKeys
	write := func(rel, text string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("h=1/dt=x/a.csv", "1,s,2.5,2020-01-01 00:00:00.000\n")
	write("loose.csv", "1,s,2.5,2020-01-01 00:00:00.000\n")
	if _, err := f.NewSource(info); err == nil || !strings.Contains(err.Error(), "file 'loose.csv' is not in a partition directory h=.../dt=...") {
		t.Errorf("a file outside the partitions: %v", err)
	}
	os.Remove(filepath.Join(dir, "loose.csv"))
	write("dt=x/h=1/b.csv", "1,s,2.5,2020-01-01 00:00:00.000\n")
	if _, err := f.NewSource(info); err == nil || !strings.Contains(err.Error(), "'dt=x' is not h=...") {
		t.Errorf("partition directories in the wrong order: %v", err)
	}
	os.RemoveAll(filepath.Join(dir, "dt=x"))
	write("h=one/dt=x/c.csv", "1,s,2.5,2020-01-01 00:00:00.000\n")
	src, err := f.NewSource(info)
	if err != nil {
		t.Fatal(err)
	}
	_, errs := readAll(t, src, 1, rand.New(rand.NewPCG(1, 1)), memory.DefaultAllocator, connectors.ReaderContext{})
	if errs[0] == nil || !strings.Contains(errs[0].Error(), "partition column 'h' is INT, but its directory holds 'one'") {
		t.Errorf("a partition value of the wrong type: %v", errs[0])
	}
}
