package nexmark

import (
	"context"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
)

var update = flag.Bool("update", false, "rewrite ddl.sql and the copies of it in the query files from DDL(DefaultParams())")

// ddlHeader returns ddl.sql's leading comment lines (and the blank line
// after them).
func ddlHeader(text string) string {
	i := 0
	for strings.HasPrefix(text[i:], "--") {
		i += strings.IndexByte(text[i:], '\n') + 1
	}
	for strings.HasPrefix(text[i:], "\n") {
		i++
	}
	return text[:i]
}

// TestFilesCarryTheDDL checks that ddl.sql and the copy of it in every
// query file are DDL(DefaultParams()), so what `jobmanager explain qN.sql`
// shows is what the benchmark runs. With -update it rewrites them.
func TestFilesCarryTheDDL(t *testing.T) {
	want := DDL(DefaultParams())
	text, err := File("ddl.sql")
	if err != nil {
		t.Fatal(err)
	}
	if head := ddlHeader(text); text[len(head):] != want {
		if !*update {
			t.Errorf("ddl.sql differs from DDL(DefaultParams()); run go test ./examples/nexmark -update")
		} else if err := os.WriteFile("ddl.sql", []byte(head+want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range Queries {
		text, err := File(q + ".sql")
		if err != nil {
			t.Fatal(err)
		}
		head, body, err := splitDDL(q, text)
		if err != nil {
			t.Fatal(err)
		}
		script, err := Script(q, DefaultParams())
		if err != nil {
			t.Fatal(err)
		}
		if script == text {
			continue
		}
		if !*update {
			t.Errorf("%s.sql: its copy of ddl.sql differs from DDL(DefaultParams()); run go test ./examples/nexmark -update", q)
			continue
		}
		if err := os.WriteFile(q+".sql", []byte(head+beginDDL+want+endDDL+body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestScript checks that Script puts the run's options into every table
// and keeps the query.
func TestScript(t *testing.T) {
	p := Params{Events: 1234, Rate: 77, Seed: -5, Options: map[string]string{"base-time": "2020-02-02 02:02:02", "seed": "9"}}
	s, err := Script("q5", p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"'events.num' = '1234'", "'first-event.rate' = '77'", "'seed' = '9'", "'base-time' = '2020-02-02 02:02:02'",
		"CREATE TABLE person (", "CREATE TABLE auction (", "CREATE TABLE bid (", "INSERT INTO nexmark_q5", "HOP(TABLE bid"} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
	if strings.Count(s, "'events.num'") != 3 || strings.Contains(s, "10000000") {
		t.Errorf("script keeps the default options:\n%s", s)
	}
	if _, err := Script("q99", p); err == nil {
		t.Error("Script(q99) succeeded")
	}
	if opts := p.TableOptions("bid"); opts["table"] != "bid" || opts["connector"] != "nexmark" || opts["seed"] != "9" {
		t.Errorf("TableOptions: %v", opts)
	}
}

// TestCountChar checks count_char against a byte-at-a-time count on random
// strings with NULLs and multi-byte characters, and its errors.
func TestCountChar(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", "c", "c", " ", "é", "日", "x"}
	f := CountChar{}
	for trial := 0; trial < 50; trial++ {
		n := r.IntN(300)
		sb := array.NewStringBuilder(mem)
		cb := array.NewStringBuilder(mem)
		var ss []*string
		var cs []string
		for i := 0; i < n; i++ {
			if r.IntN(8) == 0 {
				sb.AppendNull()
				ss = append(ss, nil)
			} else {
				var w strings.Builder
				for l := r.IntN(40); l > 0; l-- {
					w.WriteString(alphabet[r.IntN(len(alphabet))])
				}
				s := w.String()
				sb.Append(s)
				ss = append(ss, &s)
			}
			c := alphabet[r.IntN(len(alphabet))]
			cb.Append(c)
			cs = append(cs, c)
		}
		sa, ca := sb.NewArray(), cb.NewArray()
		sb.Release()
		cb.Release()
		out, err := f.Eval(context.Background(), []arrow.Array{sa, ca}, n, mem)
		if err != nil {
			t.Fatal(err)
		}
		got := out.(*array.Int64)
		for i := 0; i < n; i++ {
			want := int64(0)
			if ss[i] != nil {
				for _, b := range []byte(*ss[i]) {
					if b == cs[i][0] {
						want++
					}
				}
			}
			if got.IsNull(i) || got.Value(i) != want {
				t.Fatalf("count_char(%v, %q) = %v, want %d", ss[i], cs[i], got.ValueStr(i), want)
			}
		}
		out.Release()
		sa.Release()
		ca.Release()
	}
	// An empty character is an error, as in upstream.
	sb := array.NewStringBuilder(mem)
	sb.AppendValues([]string{"abc", "cc"}, nil)
	sa := sb.NewArray()
	sb.AppendValues([]string{"c", ""}, nil)
	ca := sb.NewArray()
	sb.Release()
	if _, err := f.Eval(context.Background(), []arrow.Array{sa, ca}, 2, mem); err == nil || !strings.Contains(err.Error(), "row 1") {
		t.Errorf("empty character: %v", err)
	}
	sa.Release()
	ca.Release()
	// Types.
	if rt, err := f.ResultType([]types.Type{types.StringType, {Kind: types.String, Length: 1}}); err != nil || rt.Kind != types.BigInt || !rt.NotNull {
		t.Errorf("ResultType = %v, %v", rt, err)
	}
	if _, err := f.ResultType([]types.Type{types.StringType, types.IntType}); err == nil || !strings.Contains(err.Error(), "argument 2 must be a STRING") {
		t.Errorf("ResultType(STRING, INT): %v", err)
	}
	if _, err := f.ResultType([]types.Type{types.StringType}); err == nil {
		t.Error("ResultType with one argument succeeded")
	}
	if _, ok := Functions().Lookup("COUNT_CHAR"); !ok {
		t.Error("Functions() lacks count_char")
	}
}

// TestScriptDir checks that Script puts the run's directory in place of
// DefaultDir in q10's sink and q13's side input, and leaves the files as
// written without one.
func TestScriptDir(t *testing.T) {
	for _, q := range []string{"q10", "q13"} {
		text, err := File(q + ".sql")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, "'"+DefaultDir+"/data/") {
			t.Fatalf("%s.sql does not name %s/data/", q, DefaultDir)
		}
		s, err := Script(q, Params{Events: 10, Rate: 10, Dir: "/x/it's/"})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(s, "'"+DefaultDir) || !strings.Contains(s, "'/x/it''s/data/") {
			t.Errorf("%s: the directory is not replaced:\n%s", q, s)
		}
		s, err = Script(q, Params{Events: 10, Rate: 10})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(s, "'"+DefaultDir+"/data/") {
			t.Errorf("%s: without Dir the script lost %s:\n%s", q, DefaultDir, s)
		}
	}
}

// TestWriteSideInput reads the side-input file back and checks every key
// from 0 to SideInputRows-1 once, with its value.
func TestWriteSideInput(t *testing.T) {
	dir := t.TempDir()
	if err := WriteSideInput(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(SideInputPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != SideInputRows {
		t.Fatalf("%d lines, want %d", len(lines), SideInputRows)
	}
	seen := map[int]bool{}
	for i, l := range lines {
		k, v, ok := strings.Cut(l, ",")
		n, err := strconv.Atoi(k)
		if !ok || err != nil || v != k || seen[n] || n < 0 || n >= SideInputRows {
			t.Fatalf("line %d: %q", i+1, l)
		}
		seen[n] = true
	}
	if err := WriteSideInput(filepath.Join(SideInputPath(dir), "under-a-file")); err == nil {
		t.Error("WriteSideInput under a regular file succeeded")
	}
}
