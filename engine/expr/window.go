package expr

import (
	"fmt"

	"github.com/eddy-streaming/eddy/engine/types"
)

// compileTumbleStart compiles tumble_start(ts, size, offset): the start of
// the TUMBLE window of the given size and offset that holds ts. Size and
// offset must be constant INTERVALs (a constant NULL makes the call NULL),
// and size must be positive. Like Flink's window assigner,
//
//	start = ts - ((ts - offset) mod size)
//
// with the modulus in [0, size), so negative times fall into the window
// below them; the remainder is computed without overflow for every ts, size
// and offset, and only ts - remainder itself wraps (like Java's long) for
// times within one window of the int64 minimum.
func compileTumbleStart(t types.Type, args []*prog) (*prog, error) {
	if err := wantArgs(args, 3); err != nil {
		return nil, err
	}
	ts, size, off := args[0], args[1], args[2]
	if t.Kind != types.Timestamp {
		return nil, fmt.Errorf("result type is %s, want TIMESTAMP(3)", t)
	}
	if k := ts.t.Kind; k != types.Timestamp && k != types.Null {
		return nil, fmt.Errorf("the time argument is %s, want TIMESTAMP(3)", ts.t)
	}
	for i, a := range []*prog{size, off} {
		name := [...]string{"size", "offset"}[i]
		if k := a.t.Kind; k != types.Interval && k != types.Null {
			return nil, fmt.Errorf("the window %s is %s, want a constant INTERVAL", name, a.t)
		}
		if a.konst == nil {
			return nil, fmt.Errorf("the window %s %s is not a constant", name, a.text)
		}
	}
	text := "TUMBLE_START(" + ts.text + ", " + size.text + ", " + off.text + ")"
	p := &prog{t: t, text: text, fallible: ts.fallible}
	if ts.t.Kind == types.Null || size.konst.null || off.konst.null {
		p.konst = &scalar{null: true}
		return p, nil
	}
	sz := size.konst.i
	if sz <= 0 {
		return nil, fmt.Errorf("the window size %s is not positive", size.text)
	}
	// Reduce the offset into [0, size) once: windows start at offset + k*size
	// for every integer k, so only offset mod size matters.
	o := off.konst.i % sz
	o += (o >> 63) & sz
	dt := t.Arrow()
	p.run = func(ec *evalCtx, in *batch) (value, error) {
		v, err := ts.eval(ec, in)
		if err != nil {
			return value{}, err
		}
		if v.sc != nil {
			if v.sc.null {
				return v, nil
			}
			start := tumbleStart(v.sc.i, sz, o)
			return value{sc: &scalar{i: start}}, nil
		}
		defer v.release()
		arr := v.arr
		vb, nulls := copyValidity(ec.mem, arr)
		ob, out := newValues[int64](ec.mem, in.n)
		tumbleStarts(values[int64](arr), out, sz, o)
		return value{arr: makeArray(dt, in.n, nulls, vb, ob)}, nil
	}
	return p, nil
}

// tumbleStart is the start of the window of size > 0 holding ts, for
// windows starting at off + k*size, 0 <= off < size.
func tumbleStart(ts, size, off int64) int64 {
	m := ts % size // in (-size, size)
	m += (m >> 63) & size
	m -= off // in (-size, size): both terms are in [0, size)
	m += (m >> 63) & size
	return ts - m
}

// tumbleStarts computes out[i] = tumbleStart(ts[i], size, off) for every
// row, NULL rows included (their values are never read): one division per
// row and no branches.
func tumbleStarts(ts, out []int64, size, off int64) {
	ts = ts[:len(out)]
	for i, v := range ts {
		m := v % size
		m += (m >> 63) & size
		m -= off
		m += (m >> 63) & size
		out[i] = v - m
	}
}
