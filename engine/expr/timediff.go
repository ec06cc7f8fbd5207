package expr

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddy-streaming/eddy/engine/types"
)

// compileTimestampDiff compiles timestampdiff(unit, t1, t2): the number of
// whole units from t1 to t2 as an INT, truncated toward zero (negative
// when t2 is before t1). SECOND to WEEK count elapsed time; MONTH, QUARTER
// and YEAR count calendar months, a month being whole once the day of the
// month and time of day are reached again (Calcite's and Flink's rule).
// Results beyond INT wrap, as Java's int does.
func compileTimestampDiff(c *compiler, e *Expr, args []*prog) (*prog, error) {
	if err := argRange("TIMESTAMPDIFF", args, 3, 3); err != nil {
		return nil, err
	}
	if err := checkArgKinds("TIMESTAMPDIFF", args, strKinds, tsKinds, tsKinds); err != nil {
		return nil, err
	}
	if e.Type.Kind != types.Int {
		return nil, fmt.Errorf("TIMESTAMPDIFF returns an INT, not %s", e.Type)
	}
	unit, err := timeUnit("TIMESTAMPDIFF", args[0], func(u int) bool {
		switch u {
		case unitYear, unitQuarter, unitMonth, unitWeek, unitDay, unitHour, unitMinute, unitSecond:
			return true
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	p := &prog{t: e.Type, text: "TIMESTAMPDIFF(" + strings.Trim(args[0].text, "'") + ", " + args[1].text + ", " + args[2].text + ")",
		fallible: args[1].fallible || args[2].fallible}
	p.run = strictRun(args[1:], func(ec *evalCtx, vals []value, n int) (value, error) {
		a, b := newIntOperand(vals[0]), newIntOperand(vals[1])
		ob, out := newValues[int32](ec.mem, n)
		for i := range out {
			out[i] = int32(timestampDiff(unit, a.at(i), b.at(i)))
		}
		nulls := newOutNulls(ec.mem, n, vals...)
		vb, nn := nulls.finish()
		return value{arr: makeArray(arrow.PrimitiveTypes.Int32, n, nn, vb, ob)}, nil
	})
	return p, nil
}

// timestampDiff is the number of whole units from t1 to t2 (epoch ms).
func timestampDiff(unit int, t1, t2 int64) int64 {
	switch unit {
	case unitSecond:
		return (t2 - t1) / msPerSecond
	case unitMinute:
		return (t2 - t1) / msPerMinute
	case unitHour:
		return (t2 - t1) / msPerHour
	case unitDay:
		return (t2 - t1) / msPerDay
	case unitWeek:
		return (t2 - t1) / (7 * msPerDay)
	}
	months := monthsBetween(t1, t2)
	switch unit {
	case unitQuarter:
		return months / 3
	case unitYear:
		return months / 12
	}
	return months
}

// monthsBetween counts the whole calendar months from t1 to t2.
func monthsBetween(t1, t2 int64) int64 {
	d1, tod1 := floorDivMod(t1, msPerDay)
	d2, tod2 := floorDivMod(t2, msPerDay)
	y1, m1, day1 := civilDate(d1)
	y2, m2, day2 := civilDate(d2)
	months := (y2*12 + int64(m2)) - (y1*12 + int64(m1))
	// Position within the month: day, then time of day.
	before := day2 < day1 || day2 == day1 && tod2 < tod1
	after := day2 > day1 || day2 == day1 && tod2 > tod1
	switch {
	case months > 0 && before:
		months--
	case months < 0 && after:
		months++
	}
	return months
}
