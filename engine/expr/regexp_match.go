package expr

// The matcher behind REGEXP and REGEXP_EXTRACT. Go's regexp has no DFA:
// an unanchored search without a literal prefix runs its backtracker or
// NFA from every position of the row and allocates the result, about 2µs
// on a Nexmark URL for q21's (&|^)channel_id=([^&]*). The matcher keeps
// Go's results (leftmost match, Perl's preferences among alternatives and
// repetitions) and makes three cuts:
//
//   - a prefilter: a literal that every match contains (from the parsed
//     pattern: "channel_id=" above; never one under (?i)) is looked up
//     with bytes.Index first, and a row without it cannot match;
//   - an anchor: when the literal is a top-level piece of the pattern and
//     what comes before it matches at most w bytes, every match starts in
//     [p-w, p] for some occurrence p of the literal, so only those starts
//     are tried;
//   - a small backtracking machine for the patterns it knows (literals,
//     classes, groups, alternation, ?, and *, +, {n,m} over a single
//     character, all assertions; not (?i) literals or repeated groups),
//     which fills a reused capture buffer instead of allocating. Its work
//     per row is bounded; past the bound, and for the other patterns, Go's
//     regexp does the row (from the anchor on where the pattern allows).

import (
	"bytes"
	"regexp"
	"regexp/syntax"
	"unicode/utf8"
)

// searchedHook, when set (by tests), is told how many rows each REGEXP or
// REGEXP_EXTRACT kernel call was given.
var searchedHook func(rows int)

// maxWindow bounds the prefix width w of an anchor; a wider (or
// unbounded) prefix searches from the start of the row.
const maxWindow = 1 << 12

// matcher finds the first match of one pattern. It is immutable after
// newMatcher and may serve several goroutines; the per-call scratch lives
// in a matchScratch.
type matcher struct {
	re *regexp.Regexp
	// reTail is re with ^ (start of text) made never to match, for
	// searching a row from an anchor past its start; nil when the pattern
	// looks behind its start in other ways ((?m)^, \b, \B), in which case
	// Go's regexp searches whole rows.
	reTail *regexp.Regexp
	ncap   int // capture groups, group 0 not counted
	// lit is the literal every match contains (nil: none found); when
	// window >= 0, every match starts at most window bytes before an
	// occurrence of lit.
	lit    []byte
	window int
	// prog is the backtracking machine's program (nil: the pattern uses
	// something it does not do).
	prog []inst
}

// newMatcher builds the matcher of a pattern that regexp compiled as re.
func newMatcher(re *regexp.Regexp) *matcher {
	m := &matcher{re: re, ncap: re.NumSubexp(), window: -1}
	ast, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return m // cannot happen: re compiled
	}
	m.lit, m.window = anchorLiteral(ast)
	if m.lit == nil {
		m.lit = requiredLiteral(ast)
	}
	if m.window >= 0 && !looksBehind(ast) {
		tail := withoutBeginText(ast)
		if rt, err := regexp.Compile(tail.String()); err == nil && rt.NumSubexp() == m.ncap {
			m.reTail = rt
		}
	}
	if m.reTail == nil {
		m.window = -1
	}
	if ast.MaxCap() == m.ncap {
		var c progCompiler
		if c.compile(ast) {
			c.emit(inst{op: iMatch})
			m.prog = c.prog
		}
	}
	return m
}

// matchScratch is the reused state of a matcher over one batch.
type matchScratch struct {
	caps  []int
	stack []btEntry
}

// newScratch returns scratch for m.
func (m *matcher) newScratch() *matchScratch {
	return &matchScratch{caps: make([]int, 2*(m.ncap+1))}
}

// find looks for the first match in s. With caps, it fills sc.caps with
// the start and end of group 0 and of each capture group (-1 for a group
// that did not take part); without, only whether s matches counts.
func (m *matcher) find(s []byte, sc *matchScratch, caps bool) bool {
	p := 0
	if m.lit != nil {
		p = bytes.Index(s, m.lit)
		if p < 0 {
			return false
		}
	}
	if m.prog != nil {
		found, done := m.runProg(s, p, sc, caps)
		if done {
			return found
		}
		return m.goFind(s, p, sc, caps, false)
	}
	return m.goFind(s, p, sc, caps, true)
}

// goFind runs Go's regexp on s, whose first occurrence of the literal is
// at p; from the anchor on when tail allows it.
func (m *matcher) goFind(s []byte, p int, sc *matchScratch, caps, tail bool) bool {
	from, re := 0, m.re
	if tail && m.window >= 0 {
		if from = runeStart(s, p-m.window); from > 0 {
			re = m.reTail
		}
	}
	if !caps {
		return re.Match(s[from:])
	}
	loc := re.FindSubmatchIndex(s[from:])
	if loc == nil {
		return false
	}
	for i, x := range loc {
		if x >= 0 {
			x += from
		}
		sc.caps[i] = x
	}
	return true
}

// runProg runs the backtracking machine from each possible start; done is
// false when it gave up (too much work).
func (m *matcher) runProg(s []byte, p int, sc *matchScratch, caps bool) (found, done bool) {
	budget := 64*len(s) + 256
	if m.lit == nil || m.window < 0 {
		for at := 0; ; {
			ok, giveUp := m.matchAt(s, at, sc, caps, &budget)
			if giveUp {
				return false, false
			}
			if ok {
				return true, true
			}
			if at >= len(s) {
				return false, true
			}
			at += runeWidth(s, at)
		}
	}
	at := runeStart(s, p-m.window)
	for {
		for at <= p {
			ok, giveUp := m.matchAt(s, at, sc, caps, &budget)
			if giveUp {
				return false, false
			}
			if ok {
				return true, true
			}
			if at >= len(s) {
				return false, true
			}
			at += runeWidth(s, at)
		}
		q := bytes.Index(s[p+1:], m.lit)
		if q < 0 {
			return false, true
		}
		p += 1 + q
		at = max(at, runeStart(s, p-m.window))
	}
}

// runeStart returns a position at or before i (clamped to [0, len(s)])
// where Go's regexp, decoding s from its start, begins a rune.
func runeStart(s []byte, i int) int {
	if i <= 0 {
		return 0
	}
	if i >= len(s) {
		return len(s)
	}
	// A byte that is not a continuation byte always begins a rune; a
	// continuation byte with three more before it does too (it is a
	// stray one, decoded alone).
	for k := i; k > 0 && k > i-4; k-- {
		if !utf8.RuneStart(s[k]) {
			continue
		}
		return k
	}
	if i < 4 {
		return 0
	}
	return i
}

// runeWidth is the width of the rune Go's regexp decodes at s[i:].
func runeWidth(s []byte, i int) int {
	if s[i] < utf8.RuneSelf {
		return 1
	}
	_, w := utf8.DecodeRune(s[i:])
	return w
}

// anchorLiteral finds, among the pieces of the pattern's top-level
// concatenation, the longest literal whose prefix matches a bounded number
// of bytes, and that bound.
func anchorLiteral(re *syntax.Regexp) ([]byte, int) {
	var pieces []*syntax.Regexp
	var flatten func(r *syntax.Regexp)
	flatten = func(r *syntax.Regexp) {
		switch r.Op {
		case syntax.OpCapture:
			flatten(r.Sub[0])
		case syntax.OpConcat:
			for _, s := range r.Sub {
				flatten(s)
			}
		default:
			pieces = append(pieces, r)
		}
	}
	flatten(re)
	var best []byte
	window, width := -1, 0
	for _, p := range pieces {
		if width > maxWindow {
			break
		}
		if l := literalBytes(p); l != nil && len(l) > len(best) {
			best, window = l, width
		}
		width += maxWidth(p)
	}
	return best, window
}

// requiredLiteral returns the longest literal that every match of re
// contains, or nil.
func requiredLiteral(re *syntax.Regexp) []byte {
	switch re.Op {
	case syntax.OpLiteral:
		return literalBytes(re)
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiteral(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredLiteral(re.Sub[0])
		}
	case syntax.OpConcat:
		var best []byte
		for _, s := range re.Sub {
			if l := requiredLiteral(s); len(l) > len(best) {
				best = l
			}
		}
		return best
	}
	return nil
}

// literalBytes returns the UTF-8 text of a case-sensitive literal, or nil
// (also for one with U+FFFD, which matches any invalid byte).
func literalBytes(re *syntax.Regexp) []byte {
	if re.Op != syntax.OpLiteral || re.Flags&syntax.FoldCase != 0 || len(re.Rune) == 0 {
		return nil
	}
	var b []byte
	for _, r := range re.Rune {
		if r == utf8.RuneError {
			return nil
		}
		b = utf8.AppendRune(b, r)
	}
	return b
}

// maxWidth bounds the bytes a match of re spans (more than maxWindow
// means unbounded).
func maxWidth(re *syntax.Regexp) int {
	const inf = maxWindow + 1
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return min(inf, utf8.UTFMax*len(re.Rune))
		}
		w := 0
		for _, r := range re.Rune {
			w += max(utf8.RuneLen(r), 1)
		}
		return min(inf, w)
	case syntax.OpCharClass:
		if len(re.Rune) > 0 && re.Rune[len(re.Rune)-1] < utf8.RuneSelf {
			return 1
		}
		return utf8.UTFMax
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return utf8.UTFMax
	case syntax.OpCapture, syntax.OpQuest:
		return maxWidth(re.Sub[0])
	case syntax.OpStar, syntax.OpPlus:
		if maxWidth(re.Sub[0]) == 0 {
			return 0
		}
		return inf
	case syntax.OpRepeat:
		w := maxWidth(re.Sub[0])
		if w == 0 {
			return 0
		}
		if re.Max < 0 || re.Max > inf {
			return inf
		}
		return min(inf, w*re.Max)
	case syntax.OpConcat:
		w := 0
		for _, s := range re.Sub {
			w = min(inf, w+maxWidth(s))
		}
		return w
	case syntax.OpAlternate:
		w := 0
		for _, s := range re.Sub {
			w = max(w, maxWidth(s))
		}
		return w
	}
	return 0 // empty-width assertions, empty match, no match
}

// looksBehind reports whether re has an assertion that depends on the
// text before the position it is tested at, other than ^ (start of text).
func looksBehind(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginLine, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	}
	for _, s := range re.Sub {
		if looksBehind(s) {
			return true
		}
	}
	return false
}

// withoutBeginText returns a copy of re in which ^ (start of text) never
// matches.
func withoutBeginText(re *syntax.Regexp) *syntax.Regexp {
	c := *re
	if c.Op == syntax.OpBeginText {
		c = syntax.Regexp{Op: syntax.OpNoMatch, Flags: re.Flags}
		return &c
	}
	if len(re.Sub) > 0 {
		c.Sub = make([]*syntax.Regexp, len(re.Sub))
		for i, s := range re.Sub {
			c.Sub[i] = withoutBeginText(s)
		}
	}
	return &c
}

// The backtracking machine: a program of instructions run depth first,
// trying alternatives in Perl's order of preference, so that the first
// match reached is the one Go's regexp reports.

// iop is an instruction's operation.
type iop uint8

const (
	iMatch    iop = iota
	iLit          // match the bytes lit
	iClass        // match one rune in cls
	iAny          // match any rune
	iAnyNotNL     // match any rune but '\n'
	iEmpty        // assert empty (a syntax.EmptyOp)
	iSave         // record the position in capture slot arg
	iSplit        // try x, then y
	iJmp          // continue at x
	iFail         // no match
)

// inst is one instruction.
type inst struct {
	op    iop
	empty syntax.EmptyOp
	arg   int
	x, y  int
	lit   []byte
	cls   *runeClass
}

// runeClass is a character class: an ASCII bitmap and the sorted ranges.
type runeClass struct {
	ascii  [2]uint64
	ranges []rune // lo, hi pairs
}

func newRuneClass(ranges []rune) *runeClass {
	c := &runeClass{ranges: ranges}
	for i := 0; i+1 < len(ranges); i += 2 {
		for r := ranges[i]; r <= ranges[i+1] && r < utf8.RuneSelf; r++ {
			c.ascii[r>>6] |= 1 << (r & 63)
		}
	}
	return c
}

// has reports whether r is in the class.
func (c *runeClass) has(r rune) bool {
	if r < utf8.RuneSelf {
		return c.ascii[r>>6]&(1<<(r&63)) != 0
	}
	lo, hi := 0, len(c.ranges)/2
	for lo < hi {
		m := (lo + hi) / 2
		switch {
		case r < c.ranges[2*m]:
			hi = m
		case r > c.ranges[2*m+1]:
			lo = m + 1
		default:
			return true
		}
	}
	return false
}

// progCompiler turns a parsed pattern into a program.
type progCompiler struct {
	prog []inst
}

func (c *progCompiler) emit(i inst) int {
	c.prog = append(c.prog, i)
	return len(c.prog) - 1
}

// singleRune reports whether re matches exactly one rune, which makes a
// repetition of it safe to run (every step consumes input).
func singleRune(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return true
	case syntax.OpLiteral:
		return len(re.Rune) == 1 && literalBytes(re) != nil
	}
	return false
}

// compile appends re's code; false when the machine cannot run re.
func (c *progCompiler) compile(re *syntax.Regexp) bool {
	if len(c.prog) > 10_000 {
		return false
	}
	switch re.Op {
	case syntax.OpNoMatch:
		c.emit(inst{op: iFail})
	case syntax.OpEmptyMatch:
	case syntax.OpLiteral:
		l := literalBytes(re)
		if l == nil {
			return false
		}
		c.emit(inst{op: iLit, lit: l})
	case syntax.OpCharClass:
		c.emit(inst{op: iClass, cls: newRuneClass(re.Rune)})
	case syntax.OpAnyChar:
		c.emit(inst{op: iAny})
	case syntax.OpAnyCharNotNL:
		c.emit(inst{op: iAnyNotNL})
	case syntax.OpBeginLine:
		c.emit(inst{op: iEmpty, empty: syntax.EmptyBeginLine})
	case syntax.OpEndLine:
		c.emit(inst{op: iEmpty, empty: syntax.EmptyEndLine})
	case syntax.OpBeginText:
		c.emit(inst{op: iEmpty, empty: syntax.EmptyBeginText})
	case syntax.OpEndText:
		c.emit(inst{op: iEmpty, empty: syntax.EmptyEndText})
	case syntax.OpWordBoundary:
		c.emit(inst{op: iEmpty, empty: syntax.EmptyWordBoundary})
	case syntax.OpNoWordBoundary:
		c.emit(inst{op: iEmpty, empty: syntax.EmptyNoWordBoundary})
	case syntax.OpCapture:
		c.emit(inst{op: iSave, arg: 2 * re.Cap})
		if !c.compile(re.Sub[0]) {
			return false
		}
		c.emit(inst{op: iSave, arg: 2*re.Cap + 1})
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !c.compile(s) {
				return false
			}
		}
	case syntax.OpAlternate:
		var jumps []int
		for i, s := range re.Sub {
			if i == len(re.Sub)-1 {
				if !c.compile(s) {
					return false
				}
				break
			}
			split := c.emit(inst{op: iSplit})
			c.prog[split].x = len(c.prog)
			if !c.compile(s) {
				return false
			}
			jumps = append(jumps, c.emit(inst{op: iJmp}))
			c.prog[split].y = len(c.prog)
		}
		for _, j := range jumps {
			c.prog[j].x = len(c.prog)
		}
	case syntax.OpQuest:
		return c.optional(re.Sub[0], re.Flags&syntax.NonGreedy == 0)
	case syntax.OpStar, syntax.OpPlus, syntax.OpRepeat:
		if !singleRune(re.Sub[0]) {
			return false
		}
		lo, hi := 0, -1
		switch re.Op {
		case syntax.OpPlus:
			lo = 1
		case syntax.OpRepeat:
			lo, hi = re.Min, re.Max
		}
		if lo > 1000 || hi > 1000 {
			return false
		}
		greedy := re.Flags&syntax.NonGreedy == 0
		for i := 0; i < lo; i++ {
			c.compile(re.Sub[0])
		}
		if hi < 0 {
			// loop: split(body, out); body; jmp loop
			loop := c.emit(inst{op: iSplit})
			c.compile(re.Sub[0])
			c.emit(inst{op: iJmp, x: loop})
			c.setSplit(loop, loop+1, len(c.prog), greedy)
			return true
		}
		for i := lo; i < hi; i++ {
			if !c.optional(re.Sub[0], greedy) {
				return false
			}
		}
	default:
		return false
	}
	return true
}

// optional compiles re? (greedy) or re?? (lazy).
func (c *progCompiler) optional(re *syntax.Regexp, greedy bool) bool {
	split := c.emit(inst{op: iSplit})
	if !c.compile(re) {
		return false
	}
	c.setSplit(split, split+1, len(c.prog), greedy)
	return true
}

// setSplit makes instruction at a split preferring body (greedy) or out.
func (c *progCompiler) setSplit(at, body, out int, greedy bool) {
	if greedy {
		c.prog[at].x, c.prog[at].y = body, out
	} else {
		c.prog[at].x, c.prog[at].y = out, body
	}
}

// btEntry is a backtracking point: resume at pc and pos, or (pc < 0)
// restore capture slot -pc-1 to pos.
type btEntry struct {
	pc, pos int
}

// matchAt runs the program anchored at position at of s. giveUp reports
// that the budget ran out.
func (m *matcher) matchAt(s []byte, at int, sc *matchScratch, caps bool, budget *int) (ok, giveUp bool) {
	if caps {
		for i := range sc.caps {
			sc.caps[i] = -1
		}
	}
	stack := sc.stack[:0]
	defer func() { sc.stack = stack[:0] }()
	pc, pos := 0, at
	prog := m.prog
	for {
		*budget--
		if *budget < 0 {
			return false, true
		}
		in := &prog[pc]
		fail := false
		switch in.op {
		case iMatch:
			if caps {
				sc.caps[0], sc.caps[1] = at, pos
			}
			return true, false
		case iLit:
			if bytes.HasPrefix(s[pos:], in.lit) {
				pos += len(in.lit)
				pc++
			} else {
				fail = true
			}
		case iClass, iAny, iAnyNotNL:
			if pos >= len(s) {
				fail = true
				break
			}
			r, w := rune(s[pos]), 1
			if r >= utf8.RuneSelf {
				r, w = utf8.DecodeRune(s[pos:])
			}
			switch in.op {
			case iClass:
				fail = !in.cls.has(r)
			case iAnyNotNL:
				fail = r == '\n'
			}
			if !fail {
				pos += w
				pc++
			}
		case iEmpty:
			r1, r2 := rune(-1), rune(-1)
			if pos > 0 {
				r1, _ = utf8.DecodeLastRune(s[:pos])
			}
			if pos < len(s) {
				r2, _ = utf8.DecodeRune(s[pos:])
			}
			if syntax.EmptyOpContext(r1, r2)&in.empty == in.empty {
				pc++
			} else {
				fail = true
			}
		case iSave:
			if caps && in.arg < len(sc.caps) {
				stack = append(stack, btEntry{pc: -in.arg - 1, pos: sc.caps[in.arg]})
				sc.caps[in.arg] = pos
			}
			pc++
		case iSplit:
			stack = append(stack, btEntry{pc: in.y, pos: pos})
			pc = in.x
		case iJmp:
			pc = in.x
		case iFail:
			fail = true
		}
		if !fail {
			continue
		}
		for {
			if len(stack) == 0 {
				return false, false
			}
			e := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if e.pc < 0 {
				sc.caps[-e.pc-1] = e.pos
				continue
			}
			pc, pos = e.pc, e.pos
			break
		}
	}
}
