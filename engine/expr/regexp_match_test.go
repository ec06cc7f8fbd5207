package expr

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
)

// matchPatterns exercise the prefilter (with and without a required
// literal, anchored or not), the backtracking machine and the fallback to
// Go's regexp.
var matchPatterns = []string{
	q21Pattern,
	`channel_id=([^&]*)`,
	`(&|^)channel_id=([^&]*)$`,
	`(?i)channel_id=([^&]*)`,   // no case-sensitive literal
	`(?i:CHANNEL)_id=(\d+)`,    // literal after a case-insensitive part
	`a|channel_id=`,            // alternation: no required literal
	`(x)?(y)?channel_id=(\d*)`, // optional groups before the literal
	`(ab|a)(bc|c)?d?`,          // Perl preferences
	`([a-z]+)=([0-9]+)`,        // no literal
	`\bid=(\d+)\b`,             // word boundaries: no tail search
	`(?m)^id=(.*)$`,            // multi-line anchors
	`(?s)a.*?b`,                // lazy, any character
	`.*foo(.)`,                 // required literal with unbounded prefix
	`(é|🙂)+(.)x`,               // repeated group: Go's regexp
	`[^\x00-\x7f]{2,3}y`,       // non-ASCII class and counted repeat
	`\x{FFFD}a`,                // U+FFFD matches invalid bytes: no prefilter
	`a{2}(b{0,2})c?`,           // counted repeats
	`q??(=)?`,                  // lazy optional
	`^`,                        // empty-width only
	`(?U)a+(b*)`,               // ungreedy flag
	`(&|^|\?)k=([^&]*)&?`,      // three-way alternation with ^
	`((a)|b)*c`,                // repeated capture: Go's regexp
	`a*a*a*a*a*a*c`,            // exceeds the machine's budget on long rows
	`x(?:yy|y)y`,               // backtracking into an alternation
	`[[:alpha:]]+_id=`,         // POSIX class before the literal
	`(?i)é=`,                   // folded non-ASCII literal
	`k=\z`,                     // end of text
}

// textTokens build random rows around the patterns' literals, with
// invalid UTF-8 and multi-byte runes.
var textTokens = []string{"channel_id=", "&", "?", "k=", "id=", "ID=", "CHANNEL_id=", "Channel", "a", "aa", "b", "c", "d",
	"x", "y", "q", "=", "1", "42", " ", "\n", "é", "É", "🙂", "\xff", "\xe2\x82", "\x80", "foo", "_", "https://www.nexmark.com/ab/c/item.htm?query=1"}

func randomRow(r *rand.Rand) string {
	var sb strings.Builder
	for k := r.IntN(10); k > 0; k-- {
		sb.WriteString(textTokens[r.IntN(len(textTokens))])
	}
	if r.IntN(20) == 0 {
		sb.WriteString(strings.Repeat("a", 100+r.IntN(200)))
		if r.IntN(2) == 0 {
			sb.WriteString("xc")
		}
	}
	return sb.String()
}

// TestMatcherAgainstGo checks the matcher's first match and groups against
// Go's regexp searching the whole row.
func TestMatcherAgainstGo(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, pat := range matchPatterns {
		re := regexp.MustCompile(pat)
		m := newMatcher(re)
		sc := m.newScratch()
		for i := 0; i < 3000; i++ {
			row := []byte(randomRow(r))
			want := re.FindSubmatchIndex(row)
			if got := m.find(row, sc, false); got != (want != nil) {
				t.Fatalf("%s on %q: matches %v, Go's regexp %v", pat, row, got, want != nil)
			}
			got := m.find(row, sc, true)
			if got != (want != nil) || (got && !slices.Equal(sc.caps, want)) {
				t.Fatalf("%s on %q: %v %v, Go's regexp %v", pat, row, got, sc.caps, want)
			}
		}
	}
}

// TestMatcherPlan checks what the matcher derives from a pattern: the
// prefilter literal, the anchor window and whether its own machine runs.
func TestMatcherPlan(t *testing.T) {
	for _, c := range []struct {
		pat    string
		lit    string // "" for none
		window int
		prog   bool
	}{
		{q21Pattern, "channel_id=", 1, true},
		{`channel_id=([^&]*)`, "channel_id=", 0, true},
		{`(?i)channel_id=([^&]*)`, "", -1, false}, // folded literals: Go's regexp
		{`(?i:CHANNEL)_id=(\d+)`, "_id=", 28, false},
		{`a|channel_id=`, "", -1, true},
		{`(x)?(y)?channel_id=(\d*)`, "channel_id=", 2, true},
		{`.*foo(.)`, "foo", -1, true},
		{`\bid=(\d+)\b`, "id=", -1, true},
		{`(é|🙂)+(.)x`, "x", -1, false},
		{`\x{FFFD}a`, "", -1, false}, // one literal "\uFFFDa", which invalid bytes match
		{`((a)|b)*c`, "c", -1, false},
		{`(?i)é=`, "", -1, false}, // one folded literal
	} {
		m := newMatcher(regexp.MustCompile(c.pat))
		if string(m.lit) != c.lit || m.window != c.window || (m.prog != nil) != c.prog {
			t.Errorf("%s: literal %q window %d machine %v, want %q %d %v", c.pat, m.lit, m.window, m.prog != nil, c.lit, c.window, c.prog)
		}
	}
	// The budget: a row the machine gives up on goes to Go's regexp.
	m := newMatcher(regexp.MustCompile(`a*a*a*a*a*a*c`))
	row := []byte(strings.Repeat("a", 300) + "xc")
	if _, done := m.runProg(row, bytes.IndexByte(row, 'c'), m.newScratch(), true); done {
		t.Fatalf("the machine finished a row it should give up on")
	}
}

// TestRegexpKernelsPrefilter runs REGEXP and REGEXP_EXTRACT over random
// URL-like batches with NULLs, constant and column patterns, against a row
// at a time reference on Go's regexp.
func TestRegexpKernelsPrefilter(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	compiled := map[string]*regexp.Regexp{}
	for iter := 0; iter < 60; iter++ {
		n := r.IntN(300)
		rows := make([]rv, n)
		pats := make([]rv, n)
		groups := make([]rv, n)
		for i := range rows {
			rows[i] = str(randomRow(r))
			if r.IntN(8) == 0 {
				rows[i] = refNull
			}
			pats[i] = str(matchPatterns[r.IntN(len(matchPatterns))])
			groups[i] = i64(int64(r.IntN(4)))
		}
		sCol := columnOf(mem, strT, rows, r.IntN(3))
		pCol := columnOf(mem, strT, pats, r.IntN(3))
		gCol := columnOf(mem, intT, groups, 0)
		schema := types.Schema{Fields: []types.Field{{Name: "s", Type: strT}, {Name: "p", Type: strT}, {Name: "g", Type: intT}}}
		cols := []arrow.Array{sCol, pCol, gCol}
		constPat := iter%2 == 0
		pat := Col(1, strT)
		if constPat {
			pat = Lit(pats[0].s, strT)
		}
		for _, fn := range []string{FuncRegexp, FuncRegexpExtract} {
			out := strT
			args := []*Expr{Col(0, strT), pat}
			if fn == FuncRegexp {
				out = boolT
			} else {
				args = append(args, Col(2, intT))
			}
			ev, err := Compile(Call(fn, out, args...), schema)
			if err != nil {
				t.Fatal(err)
			}
			res, err := ev.EvalColumns(t.Context(), cols, n, mem)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				p := pats[i].s
				if constPat {
					p = pats[0].s
				}
				want := refNull
				if !rows[i].null {
					re := compiled[p]
					if re == nil {
						re = regexp.MustCompile(p)
						compiled[p] = re
					}
					loc := re.FindStringSubmatchIndex(rows[i].s)
					if fn == FuncRegexp {
						want = boolean(loc != nil)
					} else if g := groups[i].i; loc != nil && g <= int64(re.NumSubexp()) && loc[2*g] >= 0 {
						want = str(rows[i].s[loc[2*g]:loc[2*g+1]])
					}
				}
				if got := readRow(res, out, i); !sameRV(out, got, want) {
					t.Fatalf("%s(%q, %q) row %d: got %s, want %s", fn, rows[i].s, p, i, showRV(out, got), showRV(out, want))
				}
			}
			res.Release()
		}
		sCol.Release()
		pCol.Release()
		gCol.Release()
	}
}

// TestLazyCaseAndOr checks q21's CASE and WHERE on random bids with NULLs
// against a row at a time reference, and that the regular expression is
// searched only on the rows that need it: in the CASE, the rows no WHEN
// took; in the OR, the rows the cheap channel test left undecided. It also
// checks a CASE whose ELSE would fail on the rows WHEN takes.
func TestLazyCaseAndOr(t *testing.T) {
	searched := 0
	searchedHook = func(n int) { searched += n }
	defer func() { searchedHook = nil }()
	r := rand.New(rand.NewPCG(15, 16))
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	re := regexp.MustCompile(q21Pattern)
	hot := map[string]string{"apple": "0", "google": "1", "facebook": "2", "baidu": "3"}
	channels := []string{"Apple", "GOOGLE", "facebook", "Baidu", "channel-7", "other"}
	project, filter := q21Exprs()
	schema := types.Schema{Fields: []types.Field{{Name: "channel", Type: strT}, {Name: "url", Type: strT}}}
	for iter := 0; iter < 40; iter++ {
		n := 1 + r.IntN(500)
		chans, urls := make([]rv, n), make([]rv, n)
		for i := range chans {
			chans[i] = str(channels[r.IntN(len(channels))])
			u := "https://www.nexmark.com/a/b/item.htm?query=1"
			switch r.IntN(5) {
			case 0:
				u += "&channel_id=" + fmt.Sprint(r.IntN(1000))
			case 1:
				u = "channel_id=" + fmt.Sprint(r.IntN(9)) + "&x=1"
			case 2:
				u += "&xchannel_id=5"
			case 3:
				u = fmt.Sprint(r.IntN(100))
			}
			urls[i] = str(u)
			if r.IntN(6) == 0 {
				chans[i] = refNull
			}
			if r.IntN(6) == 0 {
				urls[i] = refNull
			}
		}
		cols := []arrow.Array{columnOf(mem, strT, chans, r.IntN(3)), columnOf(mem, strT, urls, r.IntN(3))}
		extract := func(i int) rv {
			if urls[i].null {
				return refNull
			}
			loc := re.FindStringSubmatchIndex(urls[i].s)
			if loc == nil {
				return refNull
			}
			return str(urls[i].s[loc[4]:loc[5]])
		}
		// The reference, row at a time: CASE picks the first WHEN that is
		// TRUE (a NULL channel makes every WHEN NULL); the OR is Kleene.
		wantCase, wantWhere := make([]rv, n), make([]rv, n)
		elseRows, orRows := 0, 0
		for i := 0; i < n; i++ {
			id, isHot := "", false
			if !chans[i].null {
				id, isHot = hot[strings.ToLower(chans[i].s)]
			}
			if isHot {
				wantCase[i] = str(id)
			} else {
				elseRows++
				wantCase[i] = extract(i)
			}
			switch {
			case isHot:
				wantWhere[i] = boolean(true)
			case !extract(i).null:
				orRows++
				wantWhere[i] = boolean(true)
			case chans[i].null:
				orRows++
				wantWhere[i] = refNull
			default:
				orRows++
				wantWhere[i] = boolean(false)
			}
		}
		for _, c := range []struct {
			e     *Expr
			t     types.Type
			want  []rv
			calls int
		}{{project, strT, wantCase, elseRows}, {filter, boolT, wantWhere, orRows}} {
			ev, err := Compile(c.e, schema)
			if err != nil {
				t.Fatal(err)
			}
			searched = 0
			out, err := ev.EvalColumns(t.Context(), cols, n, mem)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				if got := readRow(out, c.t, i); !sameRV(c.t, got, c.want[i]) {
					t.Fatalf("%s row %d (%v, %v): got %s, want %s", ev.(*evaluator).root.text, i, chans[i], urls[i], showRV(c.t, got), showRV(c.t, c.want[i]))
				}
			}
			out.Release()
			// All rows are searched only when every row needs it.
			if searched != c.calls && !(c.calls == 0 && searched == 0) {
				t.Fatalf("%s: searched %d rows, want %d", ev.(*evaluator).root.text, searched, c.calls)
			}
		}
		// CASE WHEN url IS NULL OR NOT REGEXP(url, '^[0-9]+$') THEN -1
		// ELSE CAST(url AS INT) / 2 END: the ELSE would fail on the rows
		// the WHEN takes.
		isNum := Call(FuncRegexp, boolT, Col(1, strT), Lit(`^[0-9]+$`, strT))
		guard := Call(FuncCase, intT,
			Call(FuncOr, boolT, Call(FuncIsNull, boolT, Col(1, strT)), Call(FuncNot, boolT, isNum)), Lit("-1", intT),
			Call(FuncDiv, intT, Call(FuncCast, intT, Col(1, strT)), Lit("2", intT)))
		ev, err := Compile(guard, schema)
		if err != nil {
			t.Fatal(err)
		}
		out, err := ev.EvalColumns(t.Context(), cols, n, mem)
		if err != nil {
			t.Fatalf("guarded CASE failed: %v", err)
		}
		for i := 0; i < n; i++ {
			want := i64(-1)
			if !urls[i].null && regexp.MustCompile(`^[0-9]+$`).MatchString(urls[i].s) {
				var v int64
				fmt.Sscan(urls[i].s, &v)
				want = i64(v / 2)
			}
			if got := readRow(out, intT, i); !sameRV(intT, got, want) {
				t.Fatalf("guarded CASE row %d (%v): got %s, want %s", i, urls[i], showRV(intT, got), showRV(intT, want))
			}
		}
		out.Release()
		cols[0].Release()
		cols[1].Release()
	}
}
