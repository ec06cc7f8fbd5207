package expr

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/engine/types/sqltext"
)

// The range of TO_TIMESTAMP_LTZ: 0000-01-01 00:00:00 to 9999-12-31
// 23:59:59.999 (Flink's DateTimeUtils bounds).
const (
	minEpochSeconds = -62167219200
	maxEpochSeconds = 253402300799
	minEpochMillis  = minEpochSeconds * 1000
	maxEpochMillis  = maxEpochSeconds*1000 + 999
)

// parseTimestampText reads s as TO_TIMESTAMP does: with the pattern df, or
// (df nil, or s does not match it) as CAST reads a TIMESTAMP
// ('yyyy-MM-dd[ HH:mm[:ss[.fff]]]', surrounding blanks ignored).
func parseTimestampText(s []byte, df *dateFormat) (int64, bool) {
	if df != nil {
		if ms, ok := df.parse(s); ok {
			return ms, true
		}
	}
	return sqltext.ParseTimestampLenient(sqltext.Trim(s))
}

// formatCache compiles the patterns of a non-constant format column,
// remembering the last one.
type formatCache struct {
	last []byte
	df   *dateFormat
}

func (c *formatCache) get(f []byte) (*dateFormat, error) {
	if c.df != nil && string(f) == string(c.last) {
		return c.df, nil
	}
	df, err := compileDateFormatPattern(string(f))
	if err != nil {
		return nil, err
	}
	c.df, c.last = df, f
	return df, nil
}

// compileToTimestamp compiles TO_TIMESTAMP(s [, format]): s read with the
// Java date pattern format (default: as CAST reads a TIMESTAMP, which
// covers 'yyyy-MM-dd HH:mm:ss'); NULL when s does not parse.
func compileToTimestamp(c *compiler, e *Expr, args []*prog) (*prog, error) {
	return compileParseTime("TO_TIMESTAMP", e, args, false)
}

// compileUnixTimestamp compiles UNIX_TIMESTAMP(): the evaluation time in
// seconds since the epoch, and UNIX_TIMESTAMP(s [, format]): s read as
// TO_TIMESTAMP reads it (default format 'yyyy-MM-dd HH:mm:ss'), in
// seconds, or -9223372036854775808 (Long.MIN_VALUE) when s does not parse.
func compileUnixTimestamp(c *compiler, e *Expr, args []*prog) (*prog, error) {
	if len(args) == 0 {
		if e.Type.Kind != types.BigInt {
			return nil, fmt.Errorf("UNIX_TIMESTAMP returns a BIGINT, not %s", e.Type)
		}
		now := c.env.now()
		p := &prog{t: e.Type, text: "UNIX_TIMESTAMP()"}
		p.run = func(ec *evalCtx, in *batch) (value, error) {
			s, _ := floorDivMod(now(), msPerSecond)
			return value{sc: &scalar{i: s}}, nil
		}
		return p, nil
	}
	return compileParseTime("UNIX_TIMESTAMP", e, args, true)
}

// compileParseTime compiles TO_TIMESTAMP and, with seconds,
// UNIX_TIMESTAMP of text.
func compileParseTime(name string, e *Expr, args []*prog, seconds bool) (*prog, error) {
	if err := argRange(name, args, 1, 2); err != nil {
		return nil, err
	}
	if err := checkArgKinds(name, args, strKinds, strKinds); err != nil {
		return nil, err
	}
	want, dt := types.Timestamp, arrow.DataType(arrow.FixedWidthTypes.Timestamp_ms)
	if seconds {
		want, dt = types.BigInt, arrow.PrimitiveTypes.Int64
	}
	if e.Type.Kind != want {
		return nil, fmt.Errorf("%s returns a %s, not %s", name, want, e.Type)
	}
	text := callText(name, args)
	p := &prog{t: e.Type, text: text, fallible: anyFallible(args...)}
	var konst *dateFormat
	if len(args) == 2 {
		if f, null, ok := constString(args[1]); ok && !null {
			df, err := compileDateFormatPattern(f)
			if err != nil {
				return nil, err
			}
			konst = df
		} else if !ok {
			p.fallible = true
		}
	} else if seconds {
		konst, _ = compileDateFormatPattern("yyyy-MM-dd HH:mm:ss")
	}
	p.run = strictRun(args, func(ec *evalCtx, vals []value, n int) (value, error) {
		s := newStrOperand(vals[0])
		var fm strOperand
		variable := len(vals) == 2 && konst == nil
		if variable {
			fm = newStrOperand(vals[1])
		}
		nulls := newOutNulls(ec.mem, n, vals...)
		ob, out := newValues[int64](ec.mem, n)
		var cache formatCache
		for i := 0; i < n; i++ {
			if !nulls.valid(i) {
				continue
			}
			df := konst
			if variable {
				var err error
				if df, err = cache.get(fm.at(i)); err != nil {
					ob.Release()
					nulls.release()
					return value{}, fmt.Errorf("%s: %w", text, err)
				}
			}
			var ms int64
			var ok bool
			if seconds {
				ms, ok = df.parse(s.at(i))
			} else {
				ms, ok = parseTimestampText(s.at(i), df)
			}
			switch {
			case !ok && seconds:
				out[i] = math.MinInt64
			case !ok:
				nulls.setNull(i)
			case seconds:
				out[i] = ms / msPerSecond
			default:
				out[i] = ms
			}
		}
		vb, nn := nulls.finish()
		return value{arr: makeArray(dt, n, nn, vb, ob)}, nil
	})
	return p, nil
}

// compileToTimestampLtz compiles TO_TIMESTAMP_LTZ(n, precision): epoch
// seconds (precision 0) or milliseconds (precision 3) as a TIMESTAMP_LTZ(3),
// fractions below the millisecond truncated; NULL outside the years 0000 to
// 9999. n is a BIGINT, DOUBLE or DECIMAL; precision a constant.
func compileToTimestampLtz(c *compiler, e *Expr, args []*prog) (*prog, error) {
	if err := argRange("TO_TIMESTAMP_LTZ", args, 2, 2); err != nil {
		return nil, err
	}
	if err := checkArgKinds("TO_TIMESTAMP_LTZ", args, []types.Kind{types.BigInt, types.Double, types.Decimal}, intKinds); err != nil {
		return nil, err
	}
	if e.Type.Kind != types.Timestamp {
		return nil, fmt.Errorf("TO_TIMESTAMP_LTZ returns a TIMESTAMP_LTZ(3), not %s", e.Type)
	}
	pa := args[1]
	if pa.konst == nil || pa.konst.null {
		return nil, fmt.Errorf("the precision of TO_TIMESTAMP_LTZ must be the constant 0 or 3, not %s", pa.text)
	}
	prec := pa.konst.i
	if prec != 0 && prec != 3 {
		return nil, fmt.Errorf("the precision of TO_TIMESTAMP_LTZ must be 0 or 3, not %d", prec)
	}
	x := args[0]
	p := &prog{t: e.Type, text: callText("TO_TIMESTAMP_LTZ", args), fallible: x.fallible}
	kind, scale := x.t.Kind, x.t.Scale
	p.run = strictRun(args[:1], func(ec *evalCtx, vals []value, n int) (value, error) {
		nulls := newOutNulls(ec.mem, n, vals...)
		ob, out := newValues[int64](ec.mem, n)
		for i := 0; i < n; i++ {
			if !nulls.valid(i) {
				continue
			}
			ms, ok := int64(0), false
			switch kind {
			case types.BigInt:
				v := vals[0].sc
				var x int64
				if v != nil {
					x = v.i
				} else {
					x = values[int64](vals[0].arr)[i]
				}
				if prec == 0 {
					ms, ok = x*1000, x >= minEpochSeconds && x <= maxEpochSeconds
				} else {
					ms, ok = x, x >= minEpochMillis && x <= maxEpochMillis
				}
			case types.Double:
				var f float64
				if v := vals[0].sc; v != nil {
					f = v.f
				} else {
					f = values[float64](vals[0].arr)[i]
				}
				if prec == 0 {
					ms, ok = int64(f*1000), f >= minEpochSeconds && f <= maxEpochSeconds
				} else {
					ms, ok = int64(f), f >= minEpochMillis && f <= maxEpochMillis
				}
			default: // DECIMAL: exact
				var d decimal128.Num
				if v := vals[0].sc; v != nil {
					d = v.d
				} else {
					d = values[decimal128.Num](vals[0].arr)[i]
				}
				if prec == 0 {
					d = d.Mul(decimal128.FromI64(1000))
				}
				q, _ := d.Div(decimal128.GetScaleMultiplier(scale))
				if q.GreaterEqual(decimal128.FromI64(minEpochMillis)) && q.LessEqual(decimal128.FromI64(maxEpochMillis)) {
					ms, ok = int64(q.LowBits()), true
				}
			}
			if !ok {
				nulls.setNull(i)
				continue
			}
			out[i] = ms
		}
		vb, nn := nulls.finish()
		return value{arr: makeArray(arrow.FixedWidthTypes.Timestamp_ms, n, nn, vb, ob)}, nil
	})
	return p, nil
}

// compileNow compiles CURRENT_TIMESTAMP (and LOCALTIMESTAMP, NOW()) and
// PROCTIME(): the wall-clock time when the batch is evaluated (Env.Now),
// the same for every row of a batch.
func compileNow(name string) compileFn {
	return func(c *compiler, e *Expr, args []*prog) (*prog, error) {
		if err := argRange(name, args, 0, 0); err != nil {
			return nil, err
		}
		if e.Type.Kind != types.Timestamp {
			return nil, fmt.Errorf("%s returns a TIMESTAMP_LTZ(3), not %s", name, e.Type)
		}
		now := c.env.now()
		p := &prog{t: e.Type, text: name + "()"}
		p.run = func(ec *evalCtx, in *batch) (value, error) {
			return value{sc: &scalar{i: now()}}, nil
		}
		return p, nil
	}
}
