package windowtopn_test

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operators/windowtopn"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// Input columns: the shape of a window aggregate's output, with extra
// columns of every orderable type.
const (
	cK = iota
	cS
	cWS
	cWE
	cX // BIGINT, few distinct values: many ties
	cY // DOUBLE, with -0.0, NaN and infinities
	cZ // DECIMAL(12, 3)
	cStr
	cB
	cT
	cI // INT
	numCols
)

var colTypes = []types.Type{
	types.BigIntType, types.StringType, types.TimestampType, types.TimestampType, types.BigIntType,
	types.DoubleType, types.DecimalType(12, 3), types.StringType, types.BooleanType, types.TimestampType, types.IntType,
}

var colNames = []string{"k", "s", "window_start", "window_end", "x", "y", "z", "str", "b", "t", "i"}

// trow is one input row.
type trow struct {
	k      int64
	s      string
	ws, we int64
	x      int64
	y      float64
	z      int64 // unscaled, scale 3
	str    string
	b      bool
	t      int64
	i      int32
	null   [numCols]bool
	seq    int // arrival order
}

// value returns column c of t as optest.Append takes it (nil for NULL).
func (t *trow) value(c int) any {
	if t.null[c] {
		return nil
	}
	switch c {
	case cK:
		return t.k
	case cS:
		return t.s
	case cWS:
		return arrow.Timestamp(t.ws)
	case cWE:
		return arrow.Timestamp(t.we)
	case cX:
		return t.x
	case cY:
		return t.y
	case cZ:
		return optest.Dec{Unscaled: t.z, Scale: 3}
	case cStr:
		return t.str
	case cB:
		return t.b
	case cT:
		return arrow.Timestamp(t.t)
	case cI:
		return t.i
	}
	panic("bad column")
}

// cell renders column c of t as optest.RenderValue does.
func (t *trow) cell(c int) string { return optest.Render(t.value(c)) }

// compareCol compares column c of a and b (not NULL): doubles with NaN
// greatest and -0.0 = 0.0, strings bytewise, FALSE < TRUE.
func compareCol(a, b *trow, c int) int {
	switch c {
	case cK:
		return cmp.Compare(a.k, b.k)
	case cS:
		return strings.Compare(a.s, b.s)
	case cWS:
		return cmp.Compare(a.ws, b.ws)
	case cWE:
		return cmp.Compare(a.we, b.we)
	case cX:
		return cmp.Compare(a.x, b.x)
	case cY:
		return compareY(a.y, b.y)
	case cZ:
		return cmp.Compare(a.z, b.z)
	case cStr:
		return strings.Compare(a.str, b.str)
	case cB:
		return cmp.Compare(boolInt(a.b), boolInt(b.b))
	case cT:
		return cmp.Compare(a.t, b.t)
	case cI:
		return cmp.Compare(a.i, b.i)
	}
	panic("bad column")
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// compareY orders doubles as SQL does here: NaN greatest, -0.0 = 0.0.
func compareY(a, b float64) int {
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareRows is the ORDER BY comparison of a and b.
func compareRows(a, b *trow, keys []jobgraph.SortKey) int {
	for _, k := range keys {
		an, bn := a.null[k.Column], b.null[k.Column]
		var c int
		switch {
		case an && bn:
			c = 0
		case an || bn:
			c = 1
			if an == k.NullsFirst {
				c = -1
			}
		default:
			c = compareCol(a, b, k.Column)
			if k.Desc {
				c = -c
			}
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

var strValues = []string{"", "a", "a\x00", "a\x00b", "ab", "b", "é", "zz", "\xff"}

type gen struct {
	r      *rand.Rand
	base   int64
	step   int64
	delay  int64
	size   int64
	keys   int
	nullPc int
	latePc int
}

func (g *gen) row(wm int64) trow {
	r := g.r
	var t trow
	g.base += r.Int64N(g.step + 1)
	ts := g.base - r.Int64N(g.delay+1)
	if wm != stream.MinWatermark && r.IntN(100) < g.latePc {
		ts = wm - r.Int64N(3*g.size)
	}
	t.ws = ts - (((ts % g.size) + g.size) % g.size)
	t.we = t.ws + g.size
	t.k = int64(r.IntN(g.keys))
	t.s = strValues[r.IntN(3)]
	t.x = int64(r.IntN(8))
	switch r.IntN(12) {
	case 0:
		t.y = math.NaN()
	case 1:
		t.y = math.Copysign(0, -1)
	case 2:
		t.y = math.Inf(1 - 2*r.IntN(2))
	default:
		t.y = float64(r.IntN(40)-20) * 0.5
	}
	t.z = r.Int64N(2000) - 1000
	t.str = strValues[r.IntN(len(strValues))]
	t.b = r.IntN(2) == 0
	t.t = ts + r.Int64N(100)
	t.i = int32(r.IntN(10) - 5)
	for c := range t.null {
		if c != cWS && c != cWE {
			t.null[c] = r.IntN(100) < g.nullPc
		}
	}
	if r.IntN(500) == 0 {
		t.null[cWE] = true
	}
	return t
}

func record(t testing.TB, mem memory.Allocator, rows []trow) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, inSchema().Arrow())
	defer b.Release()
	for i := range rows {
		for c := 0; c < numCols; c++ {
			optest.Append(t, b.Field(c), rows[i].value(c))
		}
	}
	return b.NewRecordBatch()
}

func inSchema() types.Schema {
	var s types.Schema
	for i, t := range colTypes {
		s.Fields = append(s.Fields, types.Field{Name: colNames[i], Type: t})
	}
	return s
}

func makeSpec(part []int, order []jobgraph.SortKey, n int64, emitRank, lastOnTies bool) *jobgraph.OperatorSpec {
	out := inSchema()
	if emitRank {
		out.Fields = append(out.Fields, types.Field{Name: "rn", Type: types.Type{Kind: types.BigInt, NotNull: true}})
	}
	return &jobgraph.OperatorSpec{ID: "topn1", Name: "window top-n", Output: out,
		WindowTopN: &jobgraph.WindowTopNSpec{WindowStart: cWS, WindowEnd: cWE, PartitionKeys: part, OrderBy: order, N: n, EmitRank: emitRank, LastOnTies: lastOnTies}}
}

// reference ranks rows a partition at a time with a stable sort.
type reference struct {
	latest      bool // ties go to the latest arrival
	part        []int
	order       []jobgraph.SortKey
	n           int
	emitRank    bool
	parts       map[string][]*trow
	late, nulls int
}

func (m *reference) add(t *trow, wm int64) {
	if t.null[cWS] || t.null[cWE] {
		m.nulls++
		return
	}
	if t.we-1 <= wm {
		m.late++
		return
	}
	key := []string{t.cell(cWS), t.cell(cWE)}
	for _, c := range m.part {
		key = append(key, t.cell(c))
	}
	id := strings.Join(key, "|")
	m.parts[id] = append(m.parts[id], t)
}

func (m *reference) rows() []string {
	var out []string
	for _, rows := range m.parts {
		sort.SliceStable(rows, func(i, j int) bool {
			if c := compareRows(rows[i], rows[j], m.order); c != 0 {
				return c < 0
			}
			return m.latest && rows[i].seq > rows[j].seq
		})
		for i, t := range rows {
			if i >= m.n {
				break
			}
			cells := make([]string, 0, numCols+1)
			for c := 0; c < numCols; c++ {
				cells = append(cells, t.cell(c))
			}
			if m.emitRank {
				cells = append(cells, strconv.Itoa(i+1))
			}
			out = append(out, strings.Join(cells, "|"))
		}
	}
	return out
}

type runConfig struct {
	seed     uint64
	limit    int
	part     []int
	order    []jobgraph.SortKey
	n        int64
	emitRank bool
	latest   bool
	steps    int
}

func runRandom(t *testing.T, rc runConfig) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(rc.seed, 5))
	op, err := windowtopn.New(makeSpec(rc.part, rc.order, rc.n, rc.emitRank, rc.latest))
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]string{}
	if rc.limit > 0 {
		cfg[windowtopn.BufferLimitOption] = strconv.Itoa(rc.limit)
	}
	oc, metrics := optest.NewContext(mem, cfg)
	d := optest.NewDriver(t, op, oc)
	size := []int64{1000, 10_000, 60_000}[r.IntN(3)]
	g := &gen{r: r, base: r.Int64N(1e12) - 5e11, step: 1 + r.Int64N(size/40+1), delay: r.Int64N(2 * size), size: size,
		keys: 1 + r.IntN([]int{3, 30, 300}[r.IntN(3)]), nullPc: r.IntN(15), latePc: r.IntN(5)}
	ref := &reference{latest: rc.latest, part: rc.part, order: rc.order, n: int(rc.n), emitRank: rc.emitRank, parts: map[string][]*trow{}}
	seq := 0
	for step := 0; step < rc.steps; step++ {
		rows := make([]trow, optest.RandomBatchSize(r))
		for i := range rows {
			rows[i] = g.row(d.Watermark())
			rows[i].seq = seq
			seq++
		}
		for i := range rows {
			ref.add(&rows[i], d.Watermark())
		}
		d.Batch(record(t, mem, rows))
		if next := g.base - g.delay - 1; r.IntN(3) == 0 && next > d.Watermark() {
			d.Advance(next)
		}
	}
	d.Finish()
	want := ref.rows()
	if len(want) == 0 {
		t.Fatal("reference is empty: test data is broken")
	}
	optest.AssertSameRows(t, d.Out.Texts(), want)
	d.CheckWindowTiming(cWE)
	optest.CheckCounter(t, metrics, windowtopn.LateRecordsMetric, ref.late)
	optest.CheckCounter(t, metrics, windowtopn.NullRowtimeMetric, ref.nulls)
	t.Logf("%d rows out of %d partitions, %d late, %d null windows", len(want), len(ref.parts), ref.late, ref.nulls)
}

func randomOrder(r *rand.Rand) []jobgraph.SortKey {
	cols := []int{cX, cY, cZ, cStr, cB, cT, cI, cK, cS}
	r.Shuffle(len(cols), func(i, j int) { cols[i], cols[j] = cols[j], cols[i] })
	keys := make([]jobgraph.SortKey, 1+r.IntN(3))
	for i := range keys {
		keys[i] = jobgraph.SortKey{Column: cols[i], Desc: r.IntN(2) == 0, NullsFirst: r.IntN(2) == 0}
	}
	return keys
}

func TestRandomAgainstReference(t *testing.T) {
	parts := [][]int{{cWS, cWE, cK}, {cK, cS}, {}, {cWS, cWE}, {cS, cWE, cK, cWS}}
	for i := 0; i < 10; i++ {
		seed := uint64(300 + i)
		r := rand.New(rand.NewPCG(seed, 0))
		order := randomOrder(r)
		n := []int64{1, 3, 5, 50}[r.IntN(4)]
		part := parts[i%len(parts)]
		emit := r.IntN(4) != 0
		latest := i%3 == 2
		for _, limit := range []int{0, 1 + r.IntN(10)} {
			t.Run(fmt.Sprintf("seed%d/limit%d/latest=%v", seed, limit, latest), func(t *testing.T) {
				t.Logf("partition %v order %+v n %d", part, order, n)
				runRandom(t, runConfig{seed: seed, limit: limit, part: part, order: order, n: n, emitRank: emit, latest: latest, steps: 25})
			})
		}
	}
}

// TestKeepLastDeduplication is Flink's keep-last window deduplication:
// N = 1 ordered by a column with many ties, DESC, the latest arrival
// winning ties (LastOnTies), with and without spilling.
func TestKeepLastDeduplication(t *testing.T) {
	order := []jobgraph.SortKey{{Column: cX, Desc: true}}
	for _, limit := range []int{0, 1, 3} {
		t.Run(fmt.Sprintf("limit%d", limit), func(t *testing.T) {
			runRandom(t, runConfig{seed: 77, limit: limit, part: []int{cWS, cWE, cK}, order: order, n: 1, latest: true, steps: 30})
		})
	}
}

// TestFlagshipShape is the Top-N of the flagship job: per window and room,
// the top 3 by total DESC then gift ASC.
func TestFlagshipShape(t *testing.T) {
	order := []jobgraph.SortKey{{Column: cX, Desc: true}, {Column: cI, NullsFirst: true}}
	for _, limit := range []int{0, 2} {
		t.Run(fmt.Sprintf("limit%d", limit), func(t *testing.T) {
			runRandom(t, runConfig{seed: 42, limit: limit, part: []int{cWS, cWE, cK}, order: order, n: 3, emitRank: true, steps: 30})
		})
	}
}

// TestNoOrderBy keeps the first N arrivals of each partition.
func TestNoOrderBy(t *testing.T) {
	runRandom(t, runConfig{seed: 9, limit: 4, part: []int{cK}, n: 2, emitRank: true, steps: 10})
}

// TestCompaction compacts window arenas as often as possible.
func TestCompaction(t *testing.T) {
	defer windowtopn.SetCompactMin(0)()
	order := []jobgraph.SortKey{{Column: cY, Desc: true}, {Column: cStr}}
	for _, limit := range []int{0, 7} {
		t.Run(fmt.Sprintf("limit%d", limit), func(t *testing.T) {
			runRandom(t, runConfig{seed: 11, limit: limit, part: []int{cK}, order: order, n: 2, emitRank: true, steps: 15})
		})
	}
}
